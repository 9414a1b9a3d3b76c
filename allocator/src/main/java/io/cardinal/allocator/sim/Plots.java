package io.cardinal.allocator.sim;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** PNG plots with XChart: utilization over time per policy, and the CDF of queueing delay. */
public final class Plots {
    private static final int MAX_POINTS = 1500;

    private Plots() {
    }

    /** Writes {@code <prefix>-utilization.png} and {@code <prefix>-delay-cdf.png} into dir; returns their paths. */
    public static List<Path> write(Path dir, String prefix, String title, List<Simulator.Result> results) throws TraceException {
        System.setProperty("java.awt.headless", "true");
        try {
            Files.createDirectories(dir);
            XYChart util = new XYChartBuilder().width(1000).height(500).title(title + ": card utilization")
                    .xAxisTitle("hours").yAxisTitle("allocated / all cards").build();
            util.getStyler().setYAxisMin(0.0).setYAxisMax(1.0).setMarkerSize(0);
            for (Simulator.Result r : results) {
                double[][] xy = downsample(r.seriesHours(), r.seriesUtilization());
                if (xy[0].length == 0) continue;
                util.addSeries(r.policy(), xy[0], xy[1]).setMarker(SeriesMarkers.NONE);
            }
            XYChart cdf = new XYChartBuilder().width(1000).height(500).title(title + ": queueing delay CDF")
                    .xAxisTitle("delay, hours").yAxisTitle("share of jobs").build();
            cdf.getStyler().setYAxisMin(0.0).setYAxisMax(1.0).setMarkerSize(0);
            for (Simulator.Result r : results) {
                long[] d = r.delaysMillis();
                if (d.length == 0) continue;
                double[] x = new double[d.length];
                double[] y = new double[d.length];
                for (int i = 0; i < d.length; i++) {
                    x[i] = d[i] / 3_600_000.0;
                    y[i] = (i + 1.0) / d.length;
                }
                double[][] xy = downsample(x, y);
                cdf.addSeries(r.policy(), xy[0], xy[1]).setMarker(SeriesMarkers.NONE);
            }
            Path u = dir.resolve(prefix + "-utilization.png");
            Path c = dir.resolve(prefix + "-delay-cdf.png");
            BitmapEncoder.saveBitmap(util, u.toString(), BitmapEncoder.BitmapFormat.PNG);
            BitmapEncoder.saveBitmap(cdf, c.toString(), BitmapEncoder.BitmapFormat.PNG);
            return List.of(u, c);
        } catch (IOException e) {
            throw new TraceException("cannot write plots into " + dir + ": " + e.getMessage());
        }
    }

    private static double[][] downsample(double[] x, double[] y) {
        int n = x.length;
        int step = Math.max(1, (n + MAX_POINTS - 1) / MAX_POINTS);
        int m = (n + step - 1) / step;
        double[] xs = new double[m];
        double[] ys = new double[m];
        for (int i = 0, j = 0; i < n && j < m; i += step, j++) {
            xs[j] = x[i];
            ys[j] = y[i];
        }
        return new double[][] {xs, ys};
    }
}

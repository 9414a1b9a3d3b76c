package io.cardinal.chaos.report;

import io.cardinal.chaos.history.Op;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** timeline.png: acknowledged operations per second and their p50/p99 latency, with each fault as a band. */
public final class Timeline {
    private Timeline() {
    }

    public static void write(List<Op> ops, long startMs, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        long endMs = startMs;
        for (Op op : ops) endMs = Math.max(endMs, op.completeMs());
        int seconds = (int) Math.max(1, (endMs - startMs) / 1000 + 1);
        double[] x = new double[seconds];
        double[] okPerSec = new double[seconds];
        List<List<Long>> lat = new ArrayList<>();
        for (int i = 0; i < seconds; i++) {
            x[i] = i;
            lat.add(new ArrayList<>());
        }
        for (Op op : ops) {
            if (op.f().equals("nemesis") || !op.ok()) continue;
            int s = (int) ((op.completeMs() - startMs) / 1000);
            if (s < 0 || s >= seconds) continue;
            okPerSec[s]++;
            lat.get(s).add(op.completeMs() - op.invokeMs());
        }
        double[] p50 = new double[seconds];
        double[] p99 = new double[seconds];
        double maxRate = 1;
        for (int i = 0; i < seconds; i++) {
            long[] l = lat.get(i).stream().mapToLong(Long::longValue).sorted().toArray();
            p50[i] = l.length == 0 ? 0 : l[(int) Math.min(l.length - 1, Math.floor(l.length * 0.5))];
            p99[i] = l.length == 0 ? 0 : l[(int) Math.min(l.length - 1, Math.floor(l.length * 0.99))];
            maxRate = Math.max(maxRate, okPerSec[i]);
        }
        XYChart chart = new XYChartBuilder().width(1400).height(600).title("Cardinal chaos run: faults vs throughput and latency")
                .xAxisTitle("seconds since start").yAxisTitle("acknowledged ops/s").build();
        chart.getStyler().setMarkerSize(0);
        chart.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
        chart.setYAxisGroupTitle(1, "latency ms (p50, p99)");
        XYSeries s = chart.addSeries("ok ops/s", x, okPerSec);
        s.setMarker(SeriesMarkers.NONE);
        XYSeries l50 = chart.addSeries("p50 latency ms", x, p50);
        l50.setYAxisGroup(1);
        l50.setMarker(SeriesMarkers.NONE);
        XYSeries l99 = chart.addSeries("p99 latency ms", x, p99);
        l99.setYAxisGroup(1);
        l99.setMarker(SeriesMarkers.NONE);
        // Each fault kind: a band (rectangle outline) from its start to its heal, at a height per kind.
        Map<String, List<double[]>> bands = new TreeMap<>();
        for (Op op : ops) {
            if (!op.f().equals("nemesis")) continue;
            bands.computeIfAbsent(op.args().path("fault").asText(), k -> new ArrayList<>())
                    .add(new double[]{(op.invokeMs() - startMs) / 1000.0, (op.completeMs() - startMs) / 1000.0});
        }
        int k = 0;
        for (Map.Entry<String, List<double[]>> e : bands.entrySet()) {
            double h = maxRate * (0.15 + 0.07 * k++);
            List<Double> bx = new ArrayList<>();
            List<Double> by = new ArrayList<>();
            for (double[] b : e.getValue()) {
                bx.addAll(Arrays.asList(b[0], b[0], b[1], b[1]));
                by.addAll(Arrays.asList(0.0, h, h, 0.0));
            }
            XYSeries f = chart.addSeries("fault: " + e.getKey(), bx, by);
            f.setMarker(SeriesMarkers.NONE);
        }
        String file = png.toString();
        BitmapEncoder.saveBitmap(chart, file.endsWith(".png") ? file.substring(0, file.length() - 4) : file, BitmapEncoder.BitmapFormat.PNG);
    }
}

package io.cardinal.agent.inventory;

import io.cardinal.agent.config.AgentConfig;
import io.cardinal.protocol.v1.CardInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The node's cards: a simulated inventory from the config, or discovered from the output of
 * {@code nvidia-smi} (NVIDIA GPUs) or {@code npu-smi} (Ascend NPUs). The parsers are pure functions of
 * the tool's text so they are tested without the hardware.
 */
public final class CardDiscovery {
  private static final long TOOL_TIMEOUT_MILLIS = 10_000;
  private static final int MAX_CARDS = 4096;

  private CardDiscovery() {}

  /** The discovered inventory and which method found it. */
  public record Result(List<CardInfo> cards, String method) {}

  public static Result discover(AgentConfig.Cards config) {
    if (!config.discover()) {
      List<CardInfo> cards = new ArrayList<>();
      for (int i = 0; i < config.count(); i++) {
        cards.add(CardInfo.newBuilder().setIndex(i).setModel(config.model())
            .setMemoryMib(config.memoryMib()).setHealthy(true).build());
      }
      return new Result(List.copyOf(cards), "simulated");
    }
    String nvidia = run("nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits");
    if (nvidia != null) {
      List<CardInfo> cards = parseNvidiaSmi(nvidia);
      if (!cards.isEmpty()) {
        return new Result(cards, "nvidia-smi");
      }
    }
    String npu = run("npu-smi", "info");
    if (npu != null) {
      List<CardInfo> cards = parseNpuSmi(npu);
      if (!cards.isEmpty()) {
        return new Result(cards, "npu-smi");
      }
    }
    throw new IllegalStateException("cards.discover is true but neither nvidia-smi nor npu-smi is on the PATH "
        + "or reported any card; set cards: {count, model, memoryMib} for a simulated inventory");
  }

  /** Output of {@code nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits}. */
  public static List<CardInfo> parseNvidiaSmi(String text) {
    List<CardInfo> cards = new ArrayList<>();
    for (String line : text.split("\\R")) {
      String[] parts = line.split(",");
      if (parts.length < 3 || cards.size() >= MAX_CARDS) {
        continue;
      }
      try {
        int index = Integer.parseInt(parts[0].trim());
        long memoryMib = Long.parseLong(parts[parts.length - 1].trim());
        String model = parts[1].trim();
        cards.add(CardInfo.newBuilder().setIndex(index).setModel(model).setMemoryMib(memoryMib)
            .setHealthy(true).build());
      } catch (NumberFormatException e) {
        // A header or a warning line: not a card.
      }
    }
    return List.copyOf(cards);
  }

  // "| 0     910B3               | OK            | 93.6        36   0    / 0             |"
  private static final Pattern NPU_ROW =
      Pattern.compile("^\\|\\s*(\\d+)\\s+(\\S+)\\s*\\|\\s*(\\S[^|]*?)\\s*\\|.*$");
  // "| 0                         | 0000:C1:00.0  | 0           0    / 0          3161 / 65536         |"
  private static final Pattern NPU_HBM = Pattern.compile("(\\d+)\\s*/\\s*(\\d+)\\s*\\|\\s*$");

  /** The table printed by {@code npu-smi info}: a name/health row, then a chip row ending in HBM used / total. */
  public static List<CardInfo> parseNpuSmi(String text) {
    List<CardInfo> cards = new ArrayList<>();
    String[] lines = text.split("\\R");
    for (int i = 0; i < lines.length && cards.size() < MAX_CARDS; i++) {
      Matcher row = NPU_ROW.matcher(lines[i].trim());
      if (!row.matches() || row.group(2).equals("Name")) {
        continue;
      }
      String health = row.group(3).trim();
      long memoryMib = 0;
      if (i + 1 < lines.length) {
        Matcher hbm = NPU_HBM.matcher(lines[i + 1].trim());
        if (hbm.find()) {
          memoryMib = Long.parseLong(hbm.group(2));
        }
      }
      cards.add(CardInfo.newBuilder().setIndex(Integer.parseInt(row.group(1))).setModel(row.group(2))
          .setMemoryMib(memoryMib).setHealthy(health.equalsIgnoreCase("OK")).build());
      i++;
    }
    return List.copyOf(cards);
  }

  private static String run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readNBytes(1 << 20);
      if (!p.waitFor(TOOL_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return null;
      }
      return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8) : null;
    } catch (IOException e) {
      return null; // not installed
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}

package io.cardinal.allocator.model;

import java.util.ArrayList;
import java.util.List;

/** Where every task of a job runs. Tasks are listed in rank order 0..tasks-1. */
public record Placement(List<TaskCards> tasks) {
    public Placement {
        tasks = List.copyOf(tasks);
        for (int i = 0; i < tasks.size(); i++) {
            if (tasks.get(i).task() != i) throw new IllegalArgumentException("task " + i + " listed as " + tasks.get(i).task());
        }
    }

    public List<CardRef> cards() {
        List<CardRef> out = new ArrayList<>();
        for (TaskCards t : tasks) for (int idx : t.cardIndices()) out.add(new CardRef(t.nodeId(), idx));
        return out;
    }

    public int cardCount() {
        int n = 0;
        for (TaskCards t : tasks) n += t.cardIndices().size();
        return n;
    }
}

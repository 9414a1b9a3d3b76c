package io.cardinal.consensus;

import io.cardinal.protocol.v1.Event;

import java.util.List;

/** Told of every applied batch's events, on the apply thread: it must not block (hand off to a queue). */
@FunctionalInterface
public interface AppliedListener {
    void onApplied(long index, List<Event> events);
}

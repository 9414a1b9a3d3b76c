package io.cardinal.state.controller;

import io.cardinal.protocol.v1.Event;
import io.cardinal.state.ClusterState;
import io.cardinal.state.apply.Applier;

import java.util.ArrayList;
import java.util.List;

/**
 * The events one command is building. Each event is applied to the controller's view as soon as it is added, so
 * the next decision sees it; the batch's end-of-batch invariant checks run once at {@link #finish()}.
 */
final class Batch {
    /** One command never writes more than this many events (a drain of a big node stays far below). */
    static final int MAX_EVENTS = 20_000;

    final ClusterState view;
    final long nowMillis;
    private final Applier.Session session;
    private final List<Event> events = new ArrayList<>();

    Batch(ClusterState view, long nowMillis) {
        this.view = view;
        this.nowMillis = nowMillis;
        this.session = Applier.begin(view);
    }

    void add(Event.Builder e) {
        if (events.size() >= MAX_EVENTS) {
            throw new IllegalStateException("one command produced more than " + MAX_EVENTS + " events");
        }
        Event event = e.setTimeMs(nowMillis).setSchemaVersion(Applier.SCHEMA_VERSION).build();
        session.apply(event);
        events.add(event);
    }

    List<Event> events() {
        return events;
    }

    void finish() {
        session.finish();
    }
}

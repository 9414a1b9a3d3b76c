package io.cardinal.state.controller;

import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.Reply;

import java.util.List;

/** What a handler returns: the events to commit as one Raft entry (maybe none) and the reply to send after. */
public record CommandResult(List<Event> events, Reply reply) {
    public CommandResult {
        events = List.copyOf(events);
    }
}

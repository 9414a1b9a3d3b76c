package io.cardinal.allocator.model;

/** What a card can be used for right now, derived from health, node state, rules and holders. */
public enum CardStatus { FREE, SPARE, ALLOCATED, UNHEALTHY, OFFLINE, CORDONED }

package io.cardinal.state.controller;

/** A command refused before it produced any event; {@code code} is the API error code. */
public final class Rejection extends RuntimeException {
    private final String code;

    public Rejection(String code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public String code() {
        return code;
    }

    public static Rejection invalid(String message) {
        return new Rejection("invalid", message);
    }

    public static Rejection notFound(String message) {
        return new Rejection("not_found", message);
    }

    public static Rejection conflict(String message) {
        return new Rejection("conflict", message);
    }
}

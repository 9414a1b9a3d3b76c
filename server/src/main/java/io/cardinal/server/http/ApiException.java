package io.cardinal.server.http;

/** An API error with its stable code (docs/http-api.md); the message says what was wrong and what to do. */
public final class ApiException extends RuntimeException {
    private final String code;

    public ApiException(String code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public String code() {
        return code;
    }

    public static ApiException invalid(String message) {
        return new ApiException("invalid", message);
    }

    public static int status(String code) {
        switch (code) {
            case "invalid": return 400;
            case "not_found": return 404;
            case "conflict": return 409;
            case "too_large": return 413;
            case "not_leader":
            case "unavailable": return 503;
            default: return 500;
        }
    }
}

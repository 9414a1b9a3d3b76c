package io.cardinal.cli.http;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The lines of a streamed response, pulled one at a time. Lines are requested one by one, so at most one line
 * (plus the end signal) is buffered however fast the server writes; {@link #next} waits at most an idle limit so
 * a silently dead connection is noticed (the server sends a heartbeat line every 5 s).
 */
public final class LineStream implements Flow.Subscriber<String>, AutoCloseable {
  private static final Object END = new Object();

  private record Failure(Throwable cause) {}

  private final URI server;
  private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
  private volatile Flow.Subscription subscription;
  private volatile CompletableFuture<?> response;
  private volatile boolean closed;

  LineStream(URI server) {
    this.server = server;
  }

  public URI server() {
    return server;
  }

  void attach(CompletableFuture<?> response) {
    this.response = response;
  }

  /** The next line, or null at the end of the stream. Throws when the stream broke or stayed silent too long. */
  public String next(Duration idleLimit) throws IOException {
    Object item;
    try {
      item = queue.poll(idleLimit.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
    if (item == null) {
      throw new IOException("no data for " + idleLimit.toSeconds() + "s");
    }
    if (item == END) {
      queue.add(END); // stay at the end for later calls
      return null;
    }
    if (item instanceof Failure f) {
      queue.add(f);
      String m = f.cause().getMessage();
      throw new IOException(m == null ? f.cause().getClass().getSimpleName() : m, f.cause());
    }
    Flow.Subscription s = subscription;
    if (s != null) {
      s.request(1);
    }
    return (String) item;
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    subscription = s;
    if (closed) {
      s.cancel();
    } else {
      s.request(1);
    }
  }

  @Override
  public void onNext(String line) {
    queue.add(line);
  }

  @Override
  public void onError(Throwable t) {
    queue.add(new Failure(t));
  }

  @Override
  public void onComplete() {
    queue.add(END);
  }

  void finished(Throwable t) {
    if (t != null) {
      queue.add(new Failure(t));
    }
  }

  @Override
  public void close() {
    closed = true;
    Flow.Subscription s = subscription;
    if (s != null) {
      s.cancel();
    }
    CompletableFuture<?> r = response;
    if (r != null) {
      r.cancel(true);
    }
  }
}

package io.cardinal.agent.net;

import io.cardinal.agent.config.AgentConfig;
import io.cardinal.agent.config.HostPort;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.Hello;
import io.cardinal.protocol.v1.ProbeReply;
import io.cardinal.protocol.v1.Redirect;
import io.cardinal.protocol.v1.Refused;
import io.cardinal.protocol.v1.Welcome;
import io.cardinal.protocol.wire.Frames;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's session with the server's agent gateway. States: DISCONNECTED -> CONNECTING ->
 * HELLO_SENT -> ESTABLISHED (on Welcome). A Redirect sends it straight to the named leader; a Refused
 * closes it (and is fatal for an incompatible version); losing the connection, or hearing nothing from
 * the server for sessionTimeoutMillis, goes back to DISCONNECTED and reconnects after a jittered
 * exponential backoff, trying the configured servers in turn.
 *
 * <p>All session state is confined to one event loop; the listener is called on that loop and must
 * hand work to its own thread.
 */
public final class ServerSession implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServerSession.class);
  private static final String IDLE = "idle";

  /**
   * The session's idle timeout under a server-chosen heartbeat interval: at least three intervals, so that one
   * late Ack does not close a healthy session.
   */
  static long sessionTimeoutMillis(long configuredMillis, long heartbeatIntervalMillis) {
    return Math.max(configuredMillis, 3 * heartbeatIntervalMillis);
  }

  /** Redirects followed in a row without a Welcome before backing off (two servers pointing at each other). */
  private static final int MAX_REDIRECT_HOPS = 5;
  /**
   * Heartbeat send times remembered per link, by sequence. An ack older than this many heartbeats is not matched: it
   * cannot renew the lease by more than a newer ack already did.
   */
  private static final int SENT_HEARTBEATS_KEPT = 64;

  public enum State { DISCONNECTED, CONNECTING, HELLO_SENT, ESTABLISHED, CLOSED }

  /** What the agent does with the session; called on the session's event loop. */
  public interface Listener {
    Hello hello();

    void onEstablished(Welcome welcome, Link link);

    void onFrame(AgentFrame frame, Link link);

    /**
     * The server answered a frame of this link that was sent at {@code sentNanos} (System.nanoTime, taken before the
     * frame was written, so it is no later than the server's receive time): a heartbeat's Ack (called before the
     * Ack's onFrame), or the Welcome to the Hello (called after onEstablished).
     */
    default void onServerHeard(long sentNanos, Link link) {}

    void onLost(String reason);

    /** The server refused us for good (incompatible protocol version). The agent should exit. */
    void onFatal(String reason);
  }

  /** An established session, for sending frames from any thread. */
  public interface Link {
    boolean send(AgentFrame frame);

    String server();

    /** Starts sending listener heartbeats every intervalMillis on this link, until it closes. */
    void startHeartbeats(long intervalMillis, LongFunction<AgentFrame> heartbeat);
  }

  private final AgentConfig config;
  private final EventLoop loop;
  private final Listener listener;
  private final List<HostPort> servers;
  private int nextServer;
  private HostPort redirectTarget;
  private int redirectHops;
  private long backoffMillis;
  private volatile State state = State.DISCONNECTED;
  private volatile String server = "";
  private Channel channel;
  private boolean closed;
  /** TEST ONLY (-Dcardinal.testHooks=true): drop every frame to and from the servers, as a partition would. */
  private volatile boolean dropTraffic;

  public ServerSession(AgentConfig config, EventLoop loop, Listener listener) {
    if (config.servers().isEmpty()) {
      throw new IllegalArgumentException("no servers configured");
    }
    this.config = config;
    this.loop = loop;
    this.listener = listener;
    this.servers = config.servers();
    this.backoffMillis = config.backoffMinMillis();
  }

  public State state() {
    return state;
  }

  public String server() {
    return server;
  }

  /**
   * TEST ONLY: while on, frames from the servers are discarded and none are written to them (TCP connects still
   * succeed), so the servers see this agent fall silent and it sees no acks: an agent-to-server partition on hosts
   * where none can be made (loopback). The caller checks that test hooks are enabled.
   */
  public void dropTrafficForTest(boolean on) {
    if (dropTraffic != on) {
      log.warn("TEST HOOK: {} all traffic with the servers", on ? "dropping" : "no longer dropping");
    }
    dropTraffic = on;
  }

  public void start() {
    loop.execute(this::connect);
  }

  @Override
  public void close() {
    loop.submit(() -> {
      closed = true;
      state = State.CLOSED;
      if (channel != null) {
        channel.close();
      }
    }).awaitUninterruptibly(2000);
  }

  private void connect() {
    if (closed) {
      return;
    }
    HostPort target;
    if (redirectTarget != null) {
      target = redirectTarget;
      redirectTarget = null;
    } else {
      target = servers.get(nextServer);
      nextServer = (nextServer + 1) % servers.size();
    }
    state = State.CONNECTING;
    server = target.toString();
    new Bootstrap().group(loop).channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeoutMillis())
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(IDLE, new IdleStateHandler(config.sessionTimeoutMillis(), 0, 0, TimeUnit.MILLISECONDS));
            Frames.addCodec(ch.pipeline());
            ch.pipeline().addLast(new Handler(target));
          }
        }).connect(target.toSocketAddress()).addListener(f -> {
          if (!f.isSuccess()) {
            log.info("cannot connect to server {}: {}", target, f.cause() == null ? "?" : f.cause().getMessage());
            scheduleReconnect();
          }
        });
  }

  private void scheduleReconnect() {
    if (closed) {
      return;
    }
    state = State.DISCONNECTED;
    long delay;
    if (redirectTarget != null && redirectHops <= MAX_REDIRECT_HOPS) {
      delay = 0; // go to the leader right away
    } else {
      redirectTarget = null;
      redirectHops = 0;
      // Full jitter over [backoff/2, backoff]: agents that lost the same leader do not reconnect in step.
      delay = backoffMillis / 2 + ThreadLocalRandom.current().nextLong(backoffMillis / 2 + 1);
      backoffMillis = Math.min(config.backoffMaxMillis(), backoffMillis * 2);
    }
    loop.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
  }

  private final class Handler extends SimpleChannelInboundHandler<AgentFrame> implements Link {
    private final HostPort target;
    private Channel ch;
    private boolean established;
    private String closeReason = "connection closed";
    private ScheduledFuture<?> heartbeats;
    /** The idle timeout in force on this session (the configured one until the Welcome's interval raises it). */
    private long sessionTimeoutMillis = config.sessionTimeoutMillis();
    private long heartbeatSeq;
    private final long[] sentSeqs = new long[SENT_HEARTBEATS_KEPT];
    private final long[] sentNanos = new long[SENT_HEARTBEATS_KEPT];
    private long helloSentNanos;

    Handler(HostPort target) {
      this.target = target;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ch = ctx.channel();
      channel = ch;
      if (closed) {
        ch.close();
        return;
      }
      state = State.HELLO_SENT;
      if (!dropTraffic) {
        helloSentNanos = System.nanoTime();
        ctx.writeAndFlush(AgentFrame.newBuilder().setHello(listener.hello()).build());
      }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, AgentFrame frame) {
      if (dropTraffic) {
        return;
      }
      switch (frame.getBodyCase()) {
        case WELCOME -> onWelcome(ctx, frame.getWelcome());
        case REDIRECT -> onRedirect(ctx, frame.getRedirect());
        case REFUSED -> onRefused(ctx, frame.getRefused());
        case PROBE -> ctx.writeAndFlush(AgentFrame.newBuilder().setProbeReply(ProbeReply.newBuilder()
            .setNonce(frame.getProbe().getNonce()).setSentAtMillis(frame.getProbe().getSentAtMillis())
            .setNodeId(config.nodeId())).build());
        case ACK, ASSIGN, STOP, FENCE, FAIL_CARD, CHECKPOINT_COMMITTED -> {
          if (!established) {
            protocolError(ctx, frame.getBodyCase() + " before Welcome");
            return;
          }
          if (frame.hasAck() && frame.getAck().getHeartbeatSequence() > 0) {
            long seq = frame.getAck().getHeartbeatSequence();
            int slot = (int) (seq % SENT_HEARTBEATS_KEPT);
            if (sentSeqs[slot] == seq) {
              listener.onServerHeard(sentNanos[slot], this);
            }
          }
          listener.onFrame(frame, this);
        }
        default -> protocolError(ctx, "unexpected " + frame.getBodyCase() + " from the server");
      }
    }

    private void onWelcome(ChannelHandlerContext ctx, Welcome w) {
      if (established) {
        protocolError(ctx, "second Welcome on one session");
        return;
      }
      established = true;
      state = State.ESTABLISHED;
      backoffMillis = config.backoffMinMillis();
      redirectHops = 0;
      log.info("session {} established with server {} (leader {}, node epoch {})", w.getSessionId(), target,
          w.getLeaderId(), w.getNodeEpoch());
      listener.onEstablished(w, this);
      listener.onServerHeard(helloSentNanos, this);
    }

    private void onRedirect(ChannelHandlerContext ctx, Redirect r) {
      if (r.getLeaderAddress().isEmpty()) {
        closeReason = "server " + target + " is not the leader and knows no leader (" + r.getReason() + ")";
      } else {
        try {
          redirectTarget = HostPort.parse(r.getLeaderAddress());
          redirectHops++;
          closeReason = "redirected by " + target + " to leader " + r.getLeaderId() + " at " + redirectTarget;
        } catch (IllegalArgumentException e) {
          closeReason = "server " + target + " sent a bad redirect address '" + r.getLeaderAddress() + "'";
        }
      }
      log.info("{}", closeReason);
      ctx.close();
    }

    private void onRefused(ChannelHandlerContext ctx, Refused r) {
      closeReason = "server " + target + " refused this agent: " + r.getCode() + ": " + r.getMessage();
      if ("version".equals(r.getCode())) {
        String reason = closeReason + " (agent speaks protocol version " + Frames.PROTOCOL_VERSION
            + ", server speaks " + r.getServerProtocolVersion() + ")";
        log.error("{}; upgrade the agent or the server so both speak one version", reason);
        closed = true;
        state = State.CLOSED;
        ctx.close();
        listener.onFatal(reason);
        return;
      }
      log.error("{}", closeReason);
      ctx.close();
    }

    private void protocolError(ChannelHandlerContext ctx, String what) {
      closeReason = "protocol error from server " + target + ": " + what;
      log.warn("dropping connection to server {}: {}", target, what);
      ctx.close();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof IdleStateEvent) {
        closeReason = "no frame from server " + target + " for " + sessionTimeoutMillis + " ms";
        log.warn("{}; closing the session", closeReason);
        ctx.close();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (Frames.isFramingError(cause)) {
        closeReason = "bad input from server " + target + ": " + Frames.explain(cause);
        log.warn("dropping connection to server {}: {}", target, Frames.explain(cause));
      } else {
        closeReason = "connection to server " + target + " failed: " + cause;
        log.warn("{}", closeReason);
      }
      ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (heartbeats != null) {
        heartbeats.cancel(false);
      }
      if (channel == ch) {
        channel = null;
      }
      if (established) {
        log.info("session with server {} lost: {}", target, closeReason);
        listener.onLost(closeReason);
      }
      scheduleReconnect();
    }

    @Override
    public boolean send(AgentFrame frame) {
      Channel c = ch;
      if (c == null || !c.isActive()) {
        return false;
      }
      if (dropTraffic) {
        return true; // lost on the way, as in a partition
      }
      c.writeAndFlush(frame).addListener(f -> {
        if (!f.isSuccess() && c.isActive()) {
          log.warn("sending {} to {} failed: {}", frame.getBodyCase(), target, String.valueOf(f.cause()));
        }
      });
      return true;
    }

    @Override
    public String server() {
      return target.toString();
    }

    @Override
    public void startHeartbeats(long intervalMillis, LongFunction<AgentFrame> heartbeat) {
      Channel c = ch;
      c.eventLoop().execute(() -> {
        if (!c.isActive() || heartbeats != null) {
          return;
        }
        long timeout = sessionTimeoutMillis(config.sessionTimeoutMillis(), intervalMillis);
        if (timeout != sessionTimeoutMillis) {
          // The server chose a slower beat than ours (a larger TTL): every heartbeat gets an Ack, so a timeout
          // under a few intervals would close healthy sessions between two Acks.
          log.info("server heartbeat interval {} ms: session timeout {} ms (configured {} ms)", intervalMillis,
              timeout, config.sessionTimeoutMillis());
          sessionTimeoutMillis = timeout;
          c.pipeline().replace(IDLE, IDLE, new IdleStateHandler(timeout, 0, 0, TimeUnit.MILLISECONDS));
        }
        heartbeats = c.eventLoop().scheduleAtFixedRate(() -> {
          if (c.isActive() && !dropTraffic) {
            long seq = ++heartbeatSeq;
            int slot = (int) (seq % SENT_HEARTBEATS_KEPT);
            // Stamped before the frame is built and written: the lease counts from a time no later than the
            // server's receive time.
            sentSeqs[slot] = seq;
            sentNanos[slot] = System.nanoTime();
            c.writeAndFlush(heartbeat.apply(seq));
          }
        }, 0, intervalMillis, TimeUnit.MILLISECONDS);
      });
    }
  }
}

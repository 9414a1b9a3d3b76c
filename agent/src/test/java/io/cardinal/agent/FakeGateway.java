package io.cardinal.agent;

import io.cardinal.agent.config.HostPort;
import io.cardinal.protocol.v1.Ack;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.Redirect;
import io.cardinal.protocol.v1.Refused;
import io.cardinal.protocol.v1.Welcome;
import io.cardinal.protocol.wire.Frames;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * A stand-in for the server's agent gateway, speaking the agent protocol: welcomes (or refuses, or
 * redirects) agents, acks heartbeats, acks reports when told to, and records every frame it gets.
 */
final class FakeGateway implements AutoCloseable {
  /** One frame from an agent, with the connection it came on (connections count from 1). */
  record Received(int connection, String nodeId, AgentFrame frame) {}

  final AtomicLong epoch = new AtomicLong(1);
  final AtomicBoolean ackReports = new AtomicBoolean(true);
  /** Off: heartbeats are read but not acked (the agent's lease is not renewed). */
  final AtomicBoolean ackHeartbeats = new AtomicBoolean(true);
  /** The node lease sent in every Welcome (0: none). */
  final AtomicLong leaseMillis = new AtomicLong(0);
  /** The heartbeat interval sent in every Welcome (0: the agent keeps its own). */
  final AtomicLong heartbeatIntervalMillis = new AtomicLong(0);
  final AtomicReference<Refused> refuse = new AtomicReference<>();
  final AtomicReference<Redirect> redirect = new AtomicReference<>();
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final List<Received> received = new ArrayList<>();
  private final Map<String, Channel> sessions = new ConcurrentHashMap<>();
  private final AtomicInteger connections = new AtomicInteger();
  private final Channel server;

  FakeGateway() throws InterruptedException {
    server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            Frames.addCodec(ch.pipeline());
            ch.pipeline().addLast(new Handler(connections.incrementAndGet()));
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
  }

  HostPort address() {
    return new HostPort("127.0.0.1", ((InetSocketAddress) server.localAddress()).getPort());
  }

  int connections() {
    return connections.get();
  }

  private final class Handler extends SimpleChannelInboundHandler<AgentFrame> {
    final int connection;
    String nodeId = "?";

    Handler(int connection) {
      this.connection = connection;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, AgentFrame f) {
      if (f.hasHello()) {
        nodeId = f.getHello().getNodeId();
      }
      record(new Received(connection, nodeId, f));
      switch (f.getBodyCase()) {
        case HELLO -> {
          if (refuse.get() != null) {
            ctx.writeAndFlush(AgentFrame.newBuilder().setRefused(refuse.get()).build()).addListener(x -> ctx.close());
          } else if (redirect.get() != null) {
            ctx.writeAndFlush(AgentFrame.newBuilder().setRedirect(redirect.get()).build());
          } else if (f.getHello().getProtocolVersion() != Frames.PROTOCOL_VERSION) {
            ctx.writeAndFlush(AgentFrame.newBuilder().setRefused(Refused.newBuilder().setCode("version")
                .setMessage("protocol version " + f.getHello().getProtocolVersion() + " is not supported")
                .setServerProtocolVersion(Frames.PROTOCOL_VERSION)).build()).addListener(x -> ctx.close());
          } else {
            sessions.put(nodeId, ctx.channel());
            ctx.writeAndFlush(AgentFrame.newBuilder().setWelcome(Welcome.newBuilder().setSessionId("s" + connection)
                .setLeaderId("fake").setNodeEpoch(epoch.get()).setProtocolVersion(Frames.PROTOCOL_VERSION)
                .setLeaseMillis(leaseMillis.get()).setHeartbeatIntervalMillis(heartbeatIntervalMillis.get())).build());
          }
        }
        case HEARTBEAT -> {
          if (ackHeartbeats.get()) {
            ctx.writeAndFlush(AgentFrame.newBuilder().setAck(Ack.newBuilder()
                .setHeartbeatSequence(f.getHeartbeat().getSequence())).build());
          }
        }
        case REPORT -> {
          if (ackReports.get()) {
            ctx.writeAndFlush(AgentFrame.newBuilder().setAck(Ack.newBuilder()
                .addReportIds(f.getReport().getId())).build());
          }
        }
        default -> { }
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  private void record(Received r) {
    synchronized (received) {
      received.add(r);
      received.notifyAll();
    }
  }

  List<Received> received() {
    synchronized (received) {
      return new ArrayList<>(received);
    }
  }

  /** Waits (bounded) for the first frame at or after index `from` that matches. */
  Received await(int from, Predicate<Received> match, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    synchronized (received) {
      while (true) {
        for (int i = from; i < received.size(); i++) {
          if (match.test(received.get(i))) {
            return received.get(i);
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          StringBuilder sb = new StringBuilder();
          for (int i = Math.max(from, received.size() - 15); i < received.size(); i++) {
            AgentFrame f = received.get(i).frame();
            sb.append("\n  #").append(received.get(i).connection()).append(' ').append(f.getBodyCase())
                .append(f.hasReport() ? " " + f.getReport().toString().replace('\n', ' ') : "");
          }
          throw new AssertionError("timed out after " + timeoutMillis + " ms waiting for a frame; last frames:" + sb);
        }
        received.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
      }
    }
  }

  Received await(Predicate<Received> match, long timeoutMillis) throws InterruptedException {
    return await(0, match, timeoutMillis);
  }

  int size() {
    synchronized (received) {
      return received.size();
    }
  }

  void send(String nodeId, AgentFrame frame) {
    Channel ch = sessions.get(nodeId);
    if (ch == null) {
      throw new AssertionError("no session for " + nodeId);
    }
    ch.writeAndFlush(frame).syncUninterruptibly();
  }

  void sendRaw(String nodeId, byte[] bytes) {
    // From the first handler's context: past the length prepender, so the bytes go out as they are.
    sessions.get(nodeId).pipeline().firstContext().writeAndFlush(Unpooled.wrappedBuffer(bytes)).syncUninterruptibly();
  }

  @Override
  public void close() {
    if (group.isShuttingDown()) {
      return;
    }
    server.close().syncUninterruptibly();
    sessions.values().forEach(Channel::close);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}

package io.cardinal.agent.net;

import com.google.protobuf.ByteString;
import io.cardinal.agent.checkpoint.ShardStore;
import io.cardinal.agent.config.HostPort;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.ProbeReply;
import io.cardinal.protocol.v1.ShardData;
import io.cardinal.protocol.v1.ShardGet;
import io.cardinal.protocol.v1.ShardPut;
import io.cardinal.protocol.v1.ShardPutAck;
import io.cardinal.protocol.wire.Frames;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's shard peer port: other agents put buddy copies of their shards here (ShardPut) and
 * fetch shards for restores (ShardGet). Speaks the agent framing; any other frame kind, garbage or an
 * oversized frame drops that connection and nothing else.
 */
public final class PeerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PeerServer.class);
  private static final int IDLE_CLOSE_SECONDS = 60;

  private final String nodeId;
  private final ShardStore store;
  private final ExecutorService senders;
  private final long sendTimeoutMillis;
  private Channel serverChannel;

  public PeerServer(String nodeId, ShardStore store, ExecutorService senders, long sendTimeoutMillis) {
    this.nodeId = nodeId;
    this.store = store;
    this.senders = senders;
    this.sendTimeoutMillis = sendTimeoutMillis;
  }

  public HostPort bind(EventLoopGroup group, HostPort address) throws InterruptedException {
    serverChannel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new IdleStateHandler(IDLE_CLOSE_SECONDS, 0, 0));
            Frames.addCodec(ch.pipeline());
            ch.pipeline().addLast(new Handler());
          }
        }).bind(address.toSocketAddress()).sync().channel();
    InetSocketAddress bound = (InetSocketAddress) serverChannel.localAddress();
    HostPort actual = new HostPort(address.host(), bound.getPort());
    log.info("shard peer server listening on {}", actual);
    return actual;
  }

  @Override
  public void close() {
    if (serverChannel != null) {
      serverChannel.close().awaitUninterruptibly(2000);
    }
  }

  private final class Handler extends SimpleChannelInboundHandler<AgentFrame> {
    private ShardStore.IncomingShard incoming;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, AgentFrame frame) {
      switch (frame.getBodyCase()) {
        case SHARD_PUT -> onPut(ctx, frame.getShardPut());
        case SHARD_GET -> onGet(ctx, frame.getShardGet());
        case PROBE -> ctx.writeAndFlush(AgentFrame.newBuilder().setProbeReply(ProbeReply.newBuilder()
            .setNonce(frame.getProbe().getNonce()).setSentAtMillis(frame.getProbe().getSentAtMillis())
            .setNodeId(nodeId)).build());
        default -> {
          log.warn("dropping peer connection from {}: unexpected {} frame on the shard peer port",
              ctx.channel().remoteAddress(), frame.getBodyCase());
          ctx.close();
        }
      }
    }

    private void onPut(ChannelHandlerContext ctx, ShardPut put) {
      try {
        if (incoming != null && !incoming.matches(put.getJobId(), put.getRank(), put.getStep())) {
          incoming.close();
          incoming = null;
        }
        if (incoming == null) {
          if (put.getOffset() != 0) {
            throw new ShardStore.ShardRejectedException("first chunk at offset " + put.getOffset());
          }
          incoming = store.beginIncoming(ShardStore.Kind.BUDDY, put.getJobId(), put.getAttempt(), put.getRank(),
              put.getStep(), put.getTotalBytes(), put.getChecksum());
        }
        incoming.write(put.getOffset(), put.getData().toByteArray(), put.getChunkCrc32C());
        if (put.getLast()) {
          ShardStore.StoredShard stored = incoming.finish();
          incoming.close();
          incoming = null;
          log.info("stored buddy shard job {} step {} rank {} ({} bytes) from {}", stored.jobId(), stored.step(),
              stored.rank(), stored.bytes(), put.getFromNodeId());
          ctx.writeAndFlush(ack(put, true, ""));
        }
      } catch (ShardStore.ShardRejectedException | IOException | RuntimeException e) {
        log.warn("rejected buddy shard job {} step {} rank {} from {} ({}): {}", put.getJobId(), put.getStep(),
            put.getRank(), put.getFromNodeId(), ctx.channel().remoteAddress(), e.getMessage());
        if (incoming != null) {
          incoming.close();
          incoming = null;
        }
        ctx.writeAndFlush(ack(put, false, String.valueOf(e.getMessage())));
      }
    }

    private AgentFrame ack(ShardPut put, boolean ok, String error) {
      return AgentFrame.newBuilder().setShardPutAck(ShardPutAck.newBuilder().setJobId(put.getJobId())
          .setRank(put.getRank()).setStep(put.getStep()).setOk(ok).setError(error).setNodeId(nodeId)).build();
    }

    private void onGet(ChannelHandlerContext ctx, ShardGet get) {
      Optional<ShardStore.StoredShard> shard = store.find(get.getJobId(), get.getStep(), get.getRank());
      ShardData.Builder base = ShardData.newBuilder().setJobId(get.getJobId()).setRank(get.getRank())
          .setStep(get.getStep()).setNodeId(nodeId);
      if (shard.isEmpty()) {
        ctx.writeAndFlush(AgentFrame.newBuilder().setShardData(base.clone().setFound(false).setLast(true)
            .setError("node " + nodeId + " holds no shard for job " + get.getJobId() + " step " + get.getStep()
                + " rank " + get.getRank())).build());
        return;
      }
      ShardStore.StoredShard s = shard.get();
      Channel ch = ctx.channel();
      try {
        // Off the event loop: each chunk waits for its write, which bounds the memory a fetch uses.
        senders.execute(() -> {
          try {
            ShardStore.copyChunks(s.path(), (offset, data, crc, last) -> {
              AgentFrame f = AgentFrame.newBuilder().setShardData(base.clone().setFound(true)
                  .setTotalBytes(s.bytes()).setOffset(offset).setData(ByteString.copyFrom(data))
                  .setChunkCrc32C(crc).setLast(last).setChecksum(s.checksum())).build();
              if (!ch.writeAndFlush(f).awaitUninterruptibly(sendTimeoutMillis, TimeUnit.MILLISECONDS)) {
                throw new IOException("timed out sending a chunk to " + ch.remoteAddress());
              }
            });
            log.info("served shard job {} step {} rank {} ({} copy, {} bytes) to {}", s.jobId(), s.step(), s.rank(),
                s.kind(), s.bytes(), ch.remoteAddress());
          } catch (IOException | RuntimeException e) {
            log.warn("serving shard job {} step {} rank {} to {} failed: {}", s.jobId(), s.step(), s.rank(),
                ch.remoteAddress(), e.toString());
            ch.close();
          }
        });
      } catch (RejectedExecutionException e) {
        ctx.writeAndFlush(AgentFrame.newBuilder().setShardData(base.clone().setFound(false).setLast(true)
            .setError("node " + nodeId + " is busy; retry")).build());
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof IdleStateEvent) {
        ctx.close();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (incoming != null) {
        incoming.close();
        incoming = null;
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (Frames.isFramingError(cause)) {
        log.warn("dropping peer connection from {}: {}", ctx.channel().remoteAddress(), Frames.explain(cause));
      } else {
        log.warn("peer connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
      }
      ctx.close();
    }
  }
}

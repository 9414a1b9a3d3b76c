package io.cardinal.agent.net;

import com.google.protobuf.ByteString;
import io.cardinal.agent.checkpoint.ShardStore;
import io.cardinal.agent.config.HostPort;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.ShardData;
import io.cardinal.protocol.v1.ShardGet;
import io.cardinal.protocol.v1.ShardPut;
import io.cardinal.protocol.v1.ShardPutAck;
import io.cardinal.protocol.wire.Frames;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Blocking client for another agent's shard peer port: one connection per transfer (shards are large,
 * so connection setup is noise). Call from an I/O thread, never from an event loop.
 */
public final class PeerClient {
  private final EventLoopGroup group;
  private final String nodeId;
  private final ShardStore store;
  private final long connectTimeoutMillis;
  private final long transferTimeoutMillis;

  public PeerClient(EventLoopGroup group, String nodeId, ShardStore store, long connectTimeoutMillis,
      long transferTimeoutMillis) {
    this.group = group;
    this.nodeId = nodeId;
    this.store = store;
    this.connectTimeoutMillis = connectTimeoutMillis;
    this.transferTimeoutMillis = transferTimeoutMillis;
  }

  /** Streams a stored shard to a buddy; returns when the buddy has verified and fsynced it. */
  public ShardPutAck put(HostPort buddy, ShardStore.StoredShard shard) throws IOException {
    CompletableFuture<AgentFrame> reply = new CompletableFuture<>();
    Channel ch = connect(buddy, new SimpleChannelInboundHandler<AgentFrame>() {
      @Override
      protected void channelRead0(ChannelHandlerContext ctx, AgentFrame frame) {
        reply.complete(frame);
        ctx.close();
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        reply.completeExceptionally(new IOException("buddy " + buddy + " closed the connection"));
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        reply.completeExceptionally(cause);
        ctx.close();
      }
    });
    try {
      ShardStore.copyChunks(shard.path(), (offset, data, crc, last) -> {
        AgentFrame f = AgentFrame.newBuilder().setShardPut(ShardPut.newBuilder().setJobId(shard.jobId())
            .setAttempt(shard.attempt()).setRank(shard.rank()).setStep(shard.step()).setTotalBytes(shard.bytes())
            .setOffset(offset).setData(ByteString.copyFrom(data)).setChunkCrc32C(crc).setLast(last)
            .setChecksum(shard.checksum()).setFromNodeId(nodeId)).build();
        ChannelFuture w = ch.writeAndFlush(f);
        if (!w.awaitUninterruptibly(transferTimeoutMillis, TimeUnit.MILLISECONDS) || !w.isSuccess()) {
          throw new IOException("sending a chunk to buddy " + buddy + " failed: "
              + (w.cause() == null ? "timed out" : w.cause().toString()));
        }
      });
      AgentFrame frame = await(reply, "buddy " + buddy);
      if (!frame.hasShardPutAck()) {
        throw new IOException("buddy " + buddy + " answered " + frame.getBodyCase() + " instead of ShardPutAck");
      }
      return frame.getShardPutAck();
    } finally {
      ch.close();
    }
  }

  /**
   * Fetches (job, rank, step) from a peer into destination, verifying chunk and whole-shard checksums.
   * Throws when the peer does not hold it or the bytes are bad.
   */
  public void fetch(HostPort peer, String jobId, int rank, long step, Path destination) throws IOException {
    CompletableFuture<AgentFrame> done = new CompletableFuture<>();
    Channel ch = connect(peer, new SimpleChannelInboundHandler<AgentFrame>() {
      private ShardStore.IncomingShard incoming;

      @Override
      protected void channelRead0(ChannelHandlerContext ctx, AgentFrame frame) {
        if (!frame.hasShardData()) {
          fail(ctx, new IOException("peer " + peer + " sent " + frame.getBodyCase() + " instead of ShardData"));
          return;
        }
        ShardData d = frame.getShardData();
        if (!d.getFound()) {
          fail(ctx, new IOException(d.getError().isEmpty() ? "peer " + peer + " does not hold the shard" : d.getError()));
          return;
        }
        try {
          if (incoming == null) {
            incoming = store.beginDownload(jobId, rank, step, d.getTotalBytes(), d.getChecksum(), destination);
          }
          incoming.write(d.getOffset(), d.getData().toByteArray(), d.getChunkCrc32C());
          if (d.getLast()) {
            incoming.finish();
            incoming.close();
            incoming = null;
            done.complete(frame);
            ctx.close();
          }
        } catch (ShardStore.ShardRejectedException | IOException e) {
          fail(ctx, new IOException("shard from peer " + peer + " is bad: " + e.getMessage()));
        }
      }

      private void fail(ChannelHandlerContext ctx, IOException e) {
        if (incoming != null) {
          incoming.close();
          incoming = null;
        }
        done.completeExceptionally(e);
        ctx.close();
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        if (incoming != null) {
          incoming.close();
          incoming = null;
        }
        done.completeExceptionally(new IOException("peer " + peer + " closed the connection mid-transfer"));
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(ctx, new IOException(Frames.isFramingError(cause) ? Frames.explain(cause) : cause.toString()));
      }
    });
    try {
      ch.writeAndFlush(AgentFrame.newBuilder().setShardGet(ShardGet.newBuilder().setJobId(jobId).setRank(rank)
          .setStep(step)).build());
      await(done, "peer " + peer);
    } finally {
      ch.close();
    }
  }

  private Channel connect(HostPort address, SimpleChannelInboundHandler<AgentFrame> handler) throws IOException {
    ChannelFuture f = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeoutMillis)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new ReadTimeoutHandler(transferTimeoutMillis, TimeUnit.MILLISECONDS));
            Frames.addCodec(ch.pipeline());
            ch.pipeline().addLast(handler);
          }
        }).connect(address.toSocketAddress());
    if (!f.awaitUninterruptibly(connectTimeoutMillis + 1000) || !f.isSuccess()) {
      f.channel().close();
      throw new IOException("cannot connect to " + address + ": "
          + (f.cause() == null ? "timed out" : f.cause().getMessage()));
    }
    return f.channel();
  }

  private AgentFrame await(CompletableFuture<AgentFrame> future, String who) throws IOException {
    try {
      return future.get(transferTimeoutMillis, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IOException(who + " did not answer within " + transferTimeoutMillis + " ms");
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      throw c instanceof IOException io ? io : new IOException(who + ": " + c, c);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted waiting for " + who);
    }
  }
}

package io.cardinal.agent.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cardinal.agent.config.HostPort;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local checkpoint API workers talk to: JSON lines over TCP on a loopback port (its host:port is
 * in CARDINAL_AGENT_SOCKET). One request line, one reply line, in order, per connection.
 *
 * <pre>
 * {"op":"checkpoint","job":"j1","attempt":2,"rank":0,"step":100,"path":"/.../step-100.shard",
 *  "bytes":1048576,"checksum":"crc32c:1a2b3c4d"}   -> {"ok":true,"step":100,"stored":"/..."}
 * {"op":"progress","job":"j1","attempt":2,"rank":0,"step":117}  -> {"ok":true}
 * anything wrong -> {"ok":false,"error":"..."}
 * </pre>
 */
public final class CheckpointApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CheckpointApi.class);
  private static final int MAX_LINE_BYTES = 64 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Handles one parsed request; completes with the reply fields (ok is added when missing). */
  public interface RequestHandler {
    CompletableFuture<Map<String, Object>> handle(JsonNode request);
  }

  private final RequestHandler handler;
  private Channel serverChannel;

  public CheckpointApi(RequestHandler handler) {
    this.handler = handler;
  }

  public HostPort bind(EventLoopGroup group, HostPort address) throws InterruptedException {
    serverChannel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new LineBasedFrameDecoder(MAX_LINE_BYTES, true, true),
                new StringDecoder(StandardCharsets.UTF_8), new StringEncoder(StandardCharsets.UTF_8),
                new Handler());
          }
        }).bind(address.toSocketAddress()).sync().channel();
    HostPort actual = new HostPort(address.host(), ((InetSocketAddress) serverChannel.localAddress()).getPort());
    log.info("local checkpoint API listening on {}", actual);
    return actual;
  }

  @Override
  public void close() {
    if (serverChannel != null) {
      serverChannel.close().awaitUninterruptibly(2000);
    }
  }

  private final class Handler extends SimpleChannelInboundHandler<String> {
    // Replies go out in request order: each request waits for the previous reply.
    private CompletableFuture<?> last = CompletableFuture.completedFuture(null);

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, String line) {
      if (line.isBlank()) {
        return;
      }
      CompletableFuture<Map<String, Object>> reply;
      try {
        JsonNode req = JSON.readTree(line);
        if (req == null || !req.isObject() || !req.hasNonNull("op")) {
          reply = CompletableFuture.completedFuture(error("expected a JSON object with an \"op\" field"));
        } else {
          reply = handler.handle(req);
        }
      } catch (Exception e) {
        reply = CompletableFuture.completedFuture(error("bad request: " + e.getMessage()));
      }
      CompletableFuture<Map<String, Object>> r = reply;
      last = last.thenCompose(x -> r.exceptionally(t -> error(String.valueOf(t.getMessage()))))
          .thenAccept(m -> {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("ok", !m.containsKey("error"));
            out.putAll(m);
            try {
              ctx.writeAndFlush(JSON.writeValueAsString(out) + "\n");
            } catch (Exception e) {
              ctx.close();
            }
          });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (cause instanceof TooLongFrameException || cause.getCause() instanceof TooLongFrameException) {
        log.warn("dropping checkpoint API connection from {}: request line over {} bytes",
            ctx.channel().remoteAddress(), MAX_LINE_BYTES);
      } else {
        log.warn("checkpoint API connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
      }
      ctx.close();
    }
  }

  public static Map<String, Object> error(String message) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("error", message);
    return m;
  }
}

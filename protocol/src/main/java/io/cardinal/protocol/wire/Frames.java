package io.cardinal.protocol.wire;

import com.google.protobuf.InvalidProtocolBufferException;
import io.cardinal.protocol.v1.AgentFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.MessageToMessageDecoder;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.netty.handler.codec.TooLongFrameException;
import java.util.List;

/**
 * Framing of the agent wire protocol: each frame is a 4-byte big-endian length followed by one
 * serialized {@link AgentFrame}. Used by the agent (server session and shard peer port) and by the
 * server's agent gateway, so both sides enforce the same limits.
 *
 * <p>A frame over the limit, bytes that do not parse as an AgentFrame, or a frame with no body all
 * raise a {@link DecoderException}; handlers log {@link #explain(Throwable)} and close the channel.
 */
public final class Frames {
  /** The agent protocol version this build speaks. A Hello with another version is refused. */
  public static final int PROTOCOL_VERSION = 1;
  /** Largest frame either side accepts, length prefix excluded. */
  public static final int MAX_FRAME_BYTES = 4 * 1024 * 1024;
  /** Shard data is sent in chunks of at most this many bytes (well under MAX_FRAME_BYTES). */
  public static final int SHARD_CHUNK_BYTES = 1024 * 1024;
  public static final int LENGTH_PREFIX_BYTES = 4;

  private Frames() {}

  /** Adds the frame decoder and encoder to a pipeline; add your handler after it. */
  public static void addCodec(ChannelPipeline pipeline) {
    addCodec(pipeline, MAX_FRAME_BYTES);
  }

  public static void addCodec(ChannelPipeline pipeline, int maxFrameBytes) {
    if (maxFrameBytes <= 0 || maxFrameBytes > 64 * 1024 * 1024) {
      throw new IllegalArgumentException("maxFrameBytes must be in (0, 64 MiB]: " + maxFrameBytes);
    }
    // failFast: reject as soon as the length prefix is read, before buffering the oversized body.
    pipeline.addLast("frame-decoder",
        new LengthFieldBasedFrameDecoder(maxFrameBytes, 0, LENGTH_PREFIX_BYTES, 0, LENGTH_PREFIX_BYTES, true));
    pipeline.addLast("frame-prepender", new LengthFieldPrepender(LENGTH_PREFIX_BYTES));
    pipeline.addLast("agent-frame-decoder", new AgentFrameDecoder());
    pipeline.addLast("agent-frame-encoder", ENCODER);
  }

  /** Serializes one frame with its length prefix (for tests and blocking clients). */
  public static byte[] encode(AgentFrame frame) {
    byte[] body = frame.toByteArray();
    byte[] out = new byte[LENGTH_PREFIX_BYTES + body.length];
    out[0] = (byte) (body.length >>> 24);
    out[1] = (byte) (body.length >>> 16);
    out[2] = (byte) (body.length >>> 8);
    out[3] = (byte) body.length;
    System.arraycopy(body, 0, out, LENGTH_PREFIX_BYTES, body.length);
    return out;
  }

  /** True when the error came from bad bytes on the wire (the peer, not us, is at fault). */
  public static boolean isFramingError(Throwable cause) {
    return cause instanceof DecoderException;
  }

  /** One line saying what was wrong with the input, for the log line that precedes closing. */
  public static String explain(Throwable cause) {
    Throwable root = cause;
    if (cause instanceof DecoderException && cause.getCause() != null) {
      root = cause.getCause();
    }
    if (root instanceof TooLongFrameException) {
      return "frame over the limit of " + MAX_FRAME_BYTES + " bytes (" + root.getMessage() + ")";
    }
    if (root instanceof InvalidProtocolBufferException) {
      return "garbage bytes: not an AgentFrame (" + root.getMessage() + ")";
    }
    if (root instanceof CorruptedFrameException) {
      return "bad frame: " + root.getMessage();
    }
    return root.getClass().getSimpleName() + ": " + root.getMessage();
  }

  private static final ChannelHandler ENCODER = new AgentFrameEncoder();

  @ChannelHandler.Sharable
  static final class AgentFrameEncoder extends MessageToMessageEncoder<AgentFrame> {
    @Override
    protected void encode(ChannelHandlerContext ctx, AgentFrame frame, List<Object> out) {
      int size = frame.getSerializedSize();
      if (size > MAX_FRAME_BYTES) {
        // Fail the write on our side rather than have the peer drop the connection.
        throw new IllegalArgumentException("refusing to send a frame of " + size + " bytes (limit "
            + MAX_FRAME_BYTES + "): " + frame.getBodyCase());
      }
      ByteBuf buf = ctx.alloc().buffer(size);
      buf.writeBytes(frame.toByteArray());
      out.add(buf);
    }
  }

  static final class AgentFrameDecoder extends MessageToMessageDecoder<ByteBuf> {
    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) throws Exception {
      byte[] bytes = ByteBufUtil.getBytes(msg);
      AgentFrame frame = AgentFrame.parseFrom(bytes);
      if (frame.getBodyCase() == AgentFrame.BodyCase.BODY_NOT_SET) {
        throw new CorruptedFrameException("frame of " + bytes.length
            + " bytes has no known body (garbage, or a newer protocol)");
      }
      out.add(frame);
    }
  }
}

package io.cardinal.protocol.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.Hello;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.Test;

class FramesTest {
  private static EmbeddedChannel channel() {
    EmbeddedChannel ch = new EmbeddedChannel();
    Frames.addCodec(ch.pipeline());
    return ch;
  }

  @Test
  void roundTrip() {
    AgentFrame hello = AgentFrame.newBuilder()
        .setHello(Hello.newBuilder().setProtocolVersion(Frames.PROTOCOL_VERSION).setNodeId("n1")).build();
    EmbeddedChannel out = channel();
    out.writeOutbound(hello);
    ByteBuf wire = Unpooled.buffer();
    for (Object o; (o = out.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      wire.writeBytes(b);
      b.release();
    }
    assertEquals(Frames.encode(hello).length, wire.readableBytes());
    EmbeddedChannel in = channel();
    in.writeInbound(wire);
    AgentFrame got = in.readInbound();
    assertEquals(hello, got);
  }

  @Test
  void frameOverTheLimitFailsFast() {
    EmbeddedChannel in = channel();
    ByteBuf wire = Unpooled.buffer();
    wire.writeInt(Frames.MAX_FRAME_BYTES + 1);
    wire.writeBytes(new byte[16]);
    DecoderException e = assertThrows(DecoderException.class, () -> in.writeInbound(wire));
    assertTrue(Frames.explain(e).contains("over the limit"), Frames.explain(e));
  }

  @Test
  void garbageBytesAreRejected() {
    EmbeddedChannel in = channel();
    ByteBuf wire = Unpooled.buffer();
    byte[] junk = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 0x01};
    wire.writeInt(junk.length);
    wire.writeBytes(junk);
    DecoderException e = assertThrows(DecoderException.class, () -> in.writeInbound(wire));
    assertTrue(Frames.isFramingError(e));
    assertNull(in.readInbound());
  }

  @Test
  void emptyBodyIsRejected() {
    EmbeddedChannel in = channel();
    ByteBuf wire = Unpooled.buffer();
    wire.writeInt(0);
    DecoderException e = assertThrows(DecoderException.class, () -> in.writeInbound(wire));
    assertTrue(Frames.explain(e).contains("no known body"), Frames.explain(e));
  }
}

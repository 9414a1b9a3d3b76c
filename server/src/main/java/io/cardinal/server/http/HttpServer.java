package io.cardinal.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.consensus.AppliedListener;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.ListEvents;
import io.cardinal.protocol.v1.Query;
import io.cardinal.state.query.Views;
import io.cardinal.state.store.EventKeys;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.TimeUnit;

/** The HTTP/JSON API on Netty: bodies up to 1 MiB (413 beyond), NDJSON event streams with follow. */
public final class HttpServer implements AutoCloseable, AppliedListener {
    private static final Logger LOG = LoggerFactory.getLogger(HttpServer.class);
    public static final int MAX_BODY_BYTES = 1 << 20;
    /** A follower of the event stream that falls this far behind is cut off (it reconnects with after=SEQ). */
    static final int MAX_PENDING_EVENTS = 10_000;
    static final int MAX_BACKLOG_PAGES = 1_000;
    static final long STREAM_HEARTBEAT_MILLIS = 5_000;

    private final Api api;
    private final EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup workers = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final Set<Follower> followers = new CopyOnWriteArraySet<>();
    private Channel channel;

    public HttpServer(Api api) {
        this.api = api;
    }

    public void start(InetSocketAddress address) throws InterruptedException {
        channel = new ServerBootstrap().group(boss, workers).channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(4096, 16 * 1024, 64 * 1024))
                                .addLast(new HttpObjectAggregator(MAX_BODY_BYTES))
                                .addLast(new Handler());
                    }
                }).bind(address).sync().channel();
        LOG.info("HTTP API listening on {}", address);
    }

    @Override
    public void onApplied(long index, List<Event> events) {
        for (Follower f : followers) f.offer(events);
    }

    @Override
    public void close() {
        if (channel != null) channel.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (!req.decoderResult().isSuccess()) {
                write(ctx, Response.error("invalid", "malformed HTTP request: " + req.decoderResult().cause()), false);
                return;
            }
            QueryStringDecoder qs = new QueryStringDecoder(req.uri());
            Map<String, String> headers = new HashMap<>();
            req.headers().forEach(h -> headers.put(h.getKey().toLowerCase(), h.getValue()));
            byte[] body = new byte[req.content().readableBytes()];
            req.content().readBytes(body);
            Api.Request r = new Api.Request(req.method().name(), qs.path(), qs.parameters(), headers, body);
            if (r.method().equals("GET") && r.path().equals("/v1/events")) {
                events(ctx, r);
                return;
            }
            api.handle(r).whenComplete((resp, ex) -> {
                Response out = ex != null ? Response.error("internal", String.valueOf(ex)) : resp;
                ctx.executor().execute(() -> write(ctx, out, keepAlive));
            });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("HTTP connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    private static void write(ChannelHandlerContext ctx, Response r, boolean keepAlive) {
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
                Unpooled.wrappedBuffer(r.body()));
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
        if (keepAlive) {
            resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(resp);
        } else {
            ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        }
    }

    // ---- events: NDJSON, optionally followed ---------------------------------------------------------------

    private void events(ChannelHandlerContext ctx, Api.Request r) {
        String job = r.param("job");
        String node = r.param("node");
        long after;
        long limit;
        try {
            after = r.longParam("after", 0);
            limit = r.longParam("limit", r.flag("follow") ? Long.MAX_VALUE : 1000);
        } catch (ApiException e) {
            write(ctx, Response.error(e.code(), e.getMessage()), false);
            return;
        }
        boolean follow = r.flag("follow");
        boolean stale = r.flag("stale");
        Follower f = new Follower(ctx, job, node, after, limit);
        if (follow) {
            followers.add(f);
            ctx.channel().closeFuture().addListener(x -> {
                followers.remove(f);
                if (f.heartbeat != null) f.heartbeat.cancel(false);
            });
        }
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/x-ndjson");
        HttpUtil.setTransferEncodingChunked(head, true);
        // The backlog is read with a linearizable query, so a follower sees every event up to now, then live ones.
        api.replica().query(eventsQuery(job, node, after), stale).whenComplete((json, ex) -> ctx.executor().execute(() -> {
            if (ex != null) {
                followers.remove(f);
                write(ctx, Response.error("unavailable", "cannot read events: " + ex.getMessage() + "; retry"), false);
                return;
            }
            ctx.write(head);
            f.backlog(json, stale);
        }));
    }

    private static Query eventsQuery(String job, String node, long after) {
        return Query.newBuilder().setListEvents(ListEvents.newBuilder().setJobId(job).setNodeId(node).setAfterSeq(after)
                .setLimit(10_000)).build();
    }

    /** One NDJSON stream. All writes happen on its channel's event loop. */
    private final class Follower {
        final ChannelHandlerContext ctx;
        final String job;
        final String node;
        final ArrayBlockingQueue<Event> pending = new ArrayBlockingQueue<>(MAX_PENDING_EVENTS);
        long lastSent;
        long remaining;
        boolean live;
        volatile boolean overflow;
        ScheduledFuture<?> heartbeat;
        int pages;

        Follower(ChannelHandlerContext ctx, String job, String node, long after, long limit) {
            this.ctx = ctx;
            this.job = job;
            this.node = node;
            this.lastSent = after;
            this.remaining = limit;
        }

        void offer(List<Event> events) {
            for (Event e : events) {
                if (!pending.offer(e)) {
                    overflow = true;
                    break;
                }
            }
            ctx.executor().execute(this::drain);
        }

        void backlog(JsonNode json, boolean stale) {
            JsonNode events = json.path("events");
            for (JsonNode e : events) {
                if (remaining <= 0) break;
                long seq = e.path("seq").asLong();
                if (seq <= lastSent) continue;
                line(e.toString());
                lastSent = seq;
                remaining--;
            }
            ctx.flush();
            boolean full = events.size() >= 10_000;
            if (full && remaining > 0 && ++pages < MAX_BACKLOG_PAGES) {
                api.replica().query(eventsQuery(job, node, lastSent), stale).whenComplete((j, ex) -> ctx.executor().execute(() -> {
                    if (ex != null) end("cannot read events: " + ex.getMessage());
                    else backlog(j, stale);
                }));
                return;
            }
            if (!followers.contains(this) || remaining <= 0) {
                end(null);
                return;
            }
            live = true;
            heartbeat = ctx.executor().scheduleAtFixedRate(() -> {
                line("{\"type\":\"Heartbeat\"}");
                ctx.flush();
            }, STREAM_HEARTBEAT_MILLIS, STREAM_HEARTBEAT_MILLIS, TimeUnit.MILLISECONDS);
            drain();
        }

        void drain() {
            if (!live || !ctx.channel().isActive()) return;
            if (overflow) {
                end("this stream fell more than " + MAX_PENDING_EVENTS + " events behind; reconnect with after=" + lastSent);
                return;
            }
            for (Event e; (e = pending.poll()) != null; ) {
                if (e.getSeq() <= lastSent) continue;
                lastSent = e.getSeq();
                if (!job.isEmpty() && !job.equals(EventKeys.jobId(e))) continue;
                if (!node.isEmpty() && !EventKeys.nodeIds(e).contains(node)) continue;
                line(Views.event(e).toString());
                if (--remaining <= 0) {
                    end(null);
                    return;
                }
            }
            ctx.flush();
        }

        void line(String s) {
            ByteBuf b = Unpooled.copiedBuffer(s + "\n", StandardCharsets.UTF_8);
            ctx.write(new DefaultHttpContent(b));
        }

        void end(String error) {
            followers.remove(this);
            if (heartbeat != null) heartbeat.cancel(false);
            if (error != null) line("{\"type\":\"Error\",\"message\":" + Views.JSON.valueToTree(error) + "}");
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
        }
    }
}

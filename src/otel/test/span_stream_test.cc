#include "wasmshim/otel/span_stream.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "otlp_encoding.h"
#include "wasmshim/otel/tracer.h"

namespace wasmshim::otel {
namespace {

TEST(SpanStream, CarriesSpansToAnotherProvider) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::vector<SpanData> received;
  std::thread reader([&] {
    EXPECT_TRUE(read_span_stream(fds[0], [&](std::vector<SpanData>&& spans) {
      for (auto& span : spans) {
        received.push_back(std::move(span));
      }
    }));
  });
  SpanContext parent_context;
  {
    TracerProviderOptions options;
    options.resource.attributes.push_back({"service.name", std::string("child")});
    options.processors.push_back(
        std::make_shared<SimpleSpanProcessor>(make_stream_exporter(fds[1])));
    TracerProvider provider(std::move(options));
    auto tracer = provider.tracer("wasmshim.wasm", "1");
    auto parent = tracer.start_span("wasm.run", {.kind = SpanKind::internal});
    parent_context = parent.context();
    parent.set_attribute("exit_code", std::int64_t{3}).set_attribute("tier", "jit");
    parent.set_attribute("list", std::vector<std::string>{"a", "b"});
    auto scope = parent.activate();
    tracer.start_span("wasm.compile").record_error("cc failed");
  }
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].name, "wasm.compile");
  EXPECT_EQ(received[0].parent_span_id, parent_context.span_id);
  EXPECT_EQ(received[0].status, StatusCode::error);
  EXPECT_EQ(received[0].status_message, "cc failed");
  EXPECT_EQ(received[1].context.trace_id, parent_context.trace_id);
  EXPECT_EQ(received[1].context.span_id, parent_context.span_id);
  EXPECT_TRUE(received[1].context.sampled());
  EXPECT_EQ(std::get<std::int64_t>(*find_attribute(received[1].attributes, "exit_code")), 3);
  EXPECT_EQ(to_string(*find_attribute(received[1].attributes, "list")), "[a, b]");
  EXPECT_EQ(received[1].scope->name, "wasmshim.wasm");
  EXPECT_EQ(
      std::get<std::string>(*find_attribute(received[1].resource->attributes, "service.name")),
      "child");

  // And they go on through the receiving provider's processors.
  auto memory = std::make_unique<InMemorySpanExporter>();
  auto* exported = memory.get();
  TracerProviderOptions options;
  options.processors.push_back(std::make_shared<SimpleSpanProcessor>(std::move(memory)));
  TracerProvider shim(std::move(options));
  for (auto& span : received) {
    shim.submit(std::move(span));
  }
  EXPECT_EQ(exported->spans().size(), 2u);
}

TEST(SpanStream, RefusesAMalformedStream) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const char junk[] = "\x05\x00\x00\x00\xff\xff\xff\xff\xff";
  ASSERT_EQ(::write(fds[1], junk, 9), 9);
  ::close(fds[1]);
  EXPECT_FALSE(read_span_stream(fds[0], [](std::vector<SpanData>&&) {}));
  ::close(fds[0]);
}

// Written back to back, one of them larger than the pipe and than a read:
// every message arrives, whole and in order.
TEST(SpanStream, MessagesWrittenBackToBackArriveWholeAndInOrder) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::vector<std::string> names;
  std::size_t longest = 0;
  std::thread reader([&] {
    EXPECT_TRUE(read_span_stream(fds[0], [&](std::vector<SpanData>&& spans) {
      for (auto& span : spans) {
        names.push_back(span.name);
        if (const auto* value = find_attribute(span.attributes, "payload")) {
          longest = std::max(longest, std::get<std::string>(*value).size());
        }
      }
    }));
  });
  {
    TracerProviderOptions options;
    options.processors.push_back(
        std::make_shared<SimpleSpanProcessor>(make_stream_exporter(fds[1])));
    TracerProvider provider(std::move(options));
    auto tracer = provider.tracer("test");
    for (int i = 0; i < 40; ++i) {
      auto span = tracer.start_span("span-" + std::to_string(i));
      if (i == 7) {
        span.set_attribute("payload", std::string(100000, 'p'));
      }
    }
  }
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  ASSERT_EQ(names.size(), 40U);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(names[static_cast<std::size_t>(i)], "span-" + std::to_string(i));
  }
  EXPECT_EQ(longest, 100000U);
}

TEST(SpanStream, AMessageCutShortIsMalformedAfterTheWholeOnesArrive) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    TracerProviderOptions options;
    options.processors.push_back(
        std::make_shared<SimpleSpanProcessor>(make_stream_exporter(fds[1])));
    TracerProvider provider(std::move(options));
    provider.tracer("test").start_span("whole").end();
  }
  const char cut[] = "\x64\x00\x00\x00\x0a\x02";  // says 100 bytes, has 2
  ASSERT_EQ(::write(fds[1], cut, 6), 6);
  ::close(fds[1]);
  std::vector<std::string> names;
  EXPECT_FALSE(read_span_stream(fds[0], [&](std::vector<SpanData>&& spans) {
    for (auto& span : spans) {
      names.push_back(span.name);
    }
  }));
  ::close(fds[0]);
  EXPECT_EQ(names, std::vector<std::string>{"whole"});
}

}  // namespace
}  // namespace wasmshim::otel

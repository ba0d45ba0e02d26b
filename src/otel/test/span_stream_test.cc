#include "wasmshim/otel/span_stream.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "otlp_encoding.h"
#include "wasmshim/otel/tracer.h"

namespace wasmshim::otel {
namespace {

// A span stream file, as the shim makes one for a container.
class StreamFile {
 public:
  StreamFile() : fd_(::memfd_create("spans", MFD_CLOEXEC)) {}
  ~StreamFile() { ::close(fd_); }
  StreamFile(const StreamFile&) = delete;
  StreamFile& operator=(const StreamFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// A provider whose spans go to `fd` as each ends, as a container's do.
std::unique_ptr<TracerProvider> streaming_to(int fd, Resource resource = {}) {
  TracerProviderOptions options;
  options.resource = std::move(resource);
  options.processors.push_back(std::make_shared<SimpleSpanProcessor>(make_stream_exporter(fd)));
  return std::make_unique<TracerProvider>(std::move(options));
}

SpanSink names_into(std::vector<std::string>& names) {
  return [&names](std::vector<SpanData>&& spans) {
    for (auto& span : spans) {
      names.push_back(span.name);
    }
  };
}

TEST(SpanStream, CarriesSpansToAnotherProvider) {
  StreamFile file;
  ASSERT_GE(file.fd(), 0);
  SpanContext parent_context;
  {
    Resource child;
    child.attributes.push_back({"service.name", std::string("child")});
    auto provider = streaming_to(file.fd(), std::move(child));
    auto tracer = provider->tracer("wasmshim.wasm", "1");
    auto parent = tracer.start_span("wasm.run", {.kind = SpanKind::internal});
    parent_context = parent.context();
    parent.set_attribute("exit_code", std::int64_t{3}).set_attribute("tier", "jit");
    parent.set_attribute("list", std::vector<std::string>{"a", "b"});
    auto scope = parent.activate();
    tracer.start_span("wasm.compile").record_error("cc failed");
  }
  std::vector<SpanData> received;
  SpanStreamReader reader(file.fd());
  EXPECT_TRUE(reader.take_new([&](std::vector<SpanData>&& spans) {
    for (auto& span : spans) {
      received.push_back(std::move(span));
    }
  }));
  EXPECT_TRUE(reader.complete());
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
  StreamFile file;
  const char junk[] = "\x05\x00\x00\x00\xff\xff\xff\xff\xff";
  ASSERT_EQ(::write(file.fd(), junk, 9), 9);
  SpanStreamReader reader(file.fd());
  EXPECT_FALSE(reader.take_new([](std::vector<SpanData>&&) {}));
  EXPECT_FALSE(reader.complete());
  // And stays refused.
  EXPECT_FALSE(reader.take_new([](std::vector<SpanData>&&) {}));
}

TEST(SpanStream, RefusesWhatIsNotAFile) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  SpanStreamReader reader(fds[0]);
  EXPECT_FALSE(reader.take_new([](std::vector<SpanData>&&) {}));
  ::close(fds[0]);
  ::close(fds[1]);
}

// One of them larger than a read: every message arrives, whole and in order.
TEST(SpanStream, MessagesWrittenBackToBackArriveWholeAndInOrder) {
  StreamFile file;
  {
    auto provider = streaming_to(file.fd());
    auto tracer = provider->tracer("test");
    for (int i = 0; i < 40; ++i) {
      auto span = tracer.start_span("span-" + std::to_string(i));
      if (i == 7) {
        span.set_attribute("payload", std::string(100000, 'p'));
      }
    }
  }
  std::vector<std::string> names;
  std::size_t longest = 0;
  SpanStreamReader reader(file.fd());
  EXPECT_TRUE(reader.take_new([&](std::vector<SpanData>&& spans) {
    for (auto& span : spans) {
      names.push_back(span.name);
      if (const auto* value = find_attribute(span.attributes, "payload")) {
        longest = std::max(longest, std::get<std::string>(*value).size());
      }
    }
  }));
  EXPECT_TRUE(reader.complete());
  ASSERT_EQ(names.size(), 40U);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(names[static_cast<std::size_t>(i)], "span-" + std::to_string(i));
  }
  EXPECT_EQ(longest, 100000U);
}

// The reader takes what is there while the writer goes on: a message half
// written waits, and reading never moves the offset the writer appends at.
TEST(SpanStream, TakesWhatIsNewWhileTheWriterGoesOn) {
  StreamFile file;
  auto provider = streaming_to(file.fd());
  auto tracer = provider->tracer("test");
  SpanStreamReader reader(file.fd());
  std::vector<std::string> names;

  EXPECT_TRUE(reader.take_new(names_into(names)));
  EXPECT_TRUE(names.empty());
  tracer.start_span("first").end();
  EXPECT_TRUE(reader.take_new(names_into(names)));
  EXPECT_EQ(names, std::vector<std::string>{"first"});

  // The second message's first half, as a reader may find it mid-write.
  StreamFile whole;
  streaming_to(whole.fd())->tracer("test").start_span("second").end();
  std::string message(static_cast<std::size_t>(::lseek(whole.fd(), 0, SEEK_END)), '\0');
  ASSERT_EQ(::pread(whole.fd(), message.data(), message.size(), 0),
            static_cast<ssize_t>(message.size()));
  const std::size_t half = message.size() / 2;
  ASSERT_EQ(::write(file.fd(), message.data(), half), static_cast<ssize_t>(half));
  EXPECT_TRUE(reader.take_new(names_into(names)));
  EXPECT_EQ(names.size(), 1U);
  EXPECT_FALSE(reader.complete());

  const std::size_t rest = message.size() - half;
  ASSERT_EQ(::write(file.fd(), message.data() + half, rest), static_cast<ssize_t>(rest));
  tracer.start_span("third").end();
  EXPECT_TRUE(reader.take_new(names_into(names)));
  EXPECT_EQ(names, (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_TRUE(reader.complete());
}

TEST(SpanStream, AMessageCutShortIsLeftIncompleteAfterTheWholeOnesArrive) {
  StreamFile file;
  streaming_to(file.fd())->tracer("test").start_span("whole").end();
  const char cut[] = "\x64\x00\x00\x00\x0a\x02";  // says 100 bytes, has 2
  ASSERT_EQ(::write(file.fd(), cut, 6), 6);
  std::vector<std::string> names;
  SpanStreamReader reader(file.fd());
  EXPECT_TRUE(reader.take_new(names_into(names)));
  EXPECT_FALSE(reader.complete());
  EXPECT_EQ(names, std::vector<std::string>{"whole"});
}

}  // namespace
}  // namespace wasmshim::otel

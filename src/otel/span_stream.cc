#include "wasmshim/otel/span_stream.h"

#include <unistd.h>

#include <cerrno>

#include "otlp_wire.h"
#include "wasmshim/base/fd_io.h"

namespace wasmshim::otel {
namespace {

constexpr std::uint32_t kMaxMessage = 64U << 20;

class StreamExporter final : public SpanExporter {
 public:
  explicit StreamExporter(int fd) : fd_(fd) {}
  // The length and the message in one write: one syscall per batch, and a
  // child that shares the file's offset (a fork) never writes into the
  // middle of a message.
  ExportResult export_spans(std::span<const SpanData> spans, Clock::time_point) override {
    std::string frame(4, '\0');
    otlp::append_export_request(spans, frame);
    const auto size = static_cast<std::uint32_t>(frame.size() - 4);
    for (int i = 0; i < 4; ++i) {
      frame[static_cast<std::size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xff);
    }
    return base::write_all(fd_, frame) ? ExportResult::success : ExportResult::failure;
  }
  void shutdown() override {}

 private:
  int fd_;
};

}  // namespace

std::unique_ptr<SpanExporter> make_stream_exporter(int fd) {
  return std::make_unique<StreamExporter>(fd);
}

bool SpanStreamReader::take_new(const SpanSink& sink) {
  if (malformed_) {
    return false;
  }
  char chunk[16384];
  while (true) {
    const ssize_t n = ::pread(fd_, chunk, sizeof(chunk), offset_);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      malformed_ = true;  // not a file: nothing can be read from it
      return false;
    }
    if (n == 0) {
      return true;
    }
    offset_ += n;
    pending_.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    while (pending_.size() - start >= 4) {
      const auto* header = reinterpret_cast<const unsigned char*>(pending_.data() + start);
      const std::uint32_t size = std::uint32_t{header[0]} | std::uint32_t{header[1]} << 8 |
                                 std::uint32_t{header[2]} << 16 | std::uint32_t{header[3]} << 24;
      if (size > kMaxMessage) {
        malformed_ = true;
        return false;
      }
      if (pending_.size() - start - 4 < size) {
        break;
      }
      std::vector<SpanData> spans;
      if (!otlp::decode_export_request(std::string_view(pending_).substr(start + 4, size), groups_,
                                       spans)) {
        malformed_ = true;
        return false;
      }
      start += 4 + size;
      sink(std::move(spans));
    }
    pending_.erase(0, start);
  }
}

}  // namespace wasmshim::otel

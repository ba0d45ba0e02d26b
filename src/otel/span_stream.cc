#include "wasmshim/otel/span_stream.h"

#include <unistd.h>

#include <cerrno>

#include "otlp_encoding.h"

namespace wasmshim::otel {
namespace {

constexpr std::uint32_t kMaxMessage = 64U << 20;

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// 1: read everything; 0: clean end of file before any byte; -1: error or
// end of file in the middle.
int read_all(int fd, char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return done == 0 && n == 0 ? 0 : -1;
    }
    done += static_cast<std::size_t>(n);
  }
  return 1;
}

class StreamExporter final : public SpanExporter {
 public:
  explicit StreamExporter(int fd) : fd_(fd) {}
  ExportResult export_spans(std::span<const SpanData> spans, Clock::time_point) override {
    const std::string body = otlp::to_request(spans).SerializeAsString();
    const auto size = static_cast<std::uint32_t>(body.size());
    const char header[4] = {static_cast<char>(size & 0xff), static_cast<char>((size >> 8) & 0xff),
                            static_cast<char>((size >> 16) & 0xff),
                            static_cast<char>((size >> 24) & 0xff)};
    return write_all(fd_, header, 4) && write_all(fd_, body.data(), body.size())
               ? ExportResult::success
               : ExportResult::failure;
  }
  void shutdown() override {}

 private:
  int fd_;
};

}  // namespace

std::unique_ptr<SpanExporter> make_stream_exporter(int fd) {
  return std::make_unique<StreamExporter>(fd);
}

bool read_span_stream(int fd, const std::function<void(std::vector<SpanData>&&)>& sink) {
  while (true) {
    unsigned char header[4];
    const int got = read_all(fd, reinterpret_cast<char*>(header), 4);
    if (got == 0) {
      return true;
    }
    if (got < 0) {
      return false;
    }
    const std::uint32_t size = std::uint32_t{header[0]} | std::uint32_t{header[1]} << 8 |
                               std::uint32_t{header[2]} << 16 | std::uint32_t{header[3]} << 24;
    if (size > kMaxMessage) {
      return false;
    }
    std::string body(size, '\0');
    if (read_all(fd, body.data(), size) != 1) {
      return false;
    }
    otlp::ExportRequest request;
    if (!request.ParseFromString(body)) {
      return false;
    }
    sink(otlp::from_request(request));
  }
}

}  // namespace wasmshim::otel

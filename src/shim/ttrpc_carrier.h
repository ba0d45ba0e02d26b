// The tracing SDK's carrier over ttrpc request metadata, where containerd
// (1.7 and later) sends its span's traceparent. Kept here, beside the
// transport it reads, so the SDK knows nothing of ttrpc.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "wasmshim/otel/propagation.h"
#include "wasmshim/ttrpc/message.h"

namespace wasmshim::shim {

class TtrpcMetadataCarrier final : public otel::TextMapCarrier {
 public:
  explicit TtrpcMetadataCarrier(ttrpc::Metadata& metadata) : read_(&metadata), write_(&metadata) {}
  // Read-only: set() does nothing.
  explicit TtrpcMetadataCarrier(const ttrpc::Metadata& metadata) : read_(&metadata) {}
  std::optional<std::string> get(std::string_view key) const override { return read_->get(key); }
  void set(std::string_view key, std::string value) override {
    if (write_ != nullptr) {
      write_->set(key, std::move(value));
    }
  }

 private:
  const ttrpc::Metadata* read_;
  ttrpc::Metadata* write_ = nullptr;
};

}  // namespace wasmshim::shim

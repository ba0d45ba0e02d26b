// The ttrpc request and response envelopes and their protobuf encoding.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wasmshim/ttrpc/status.h"

namespace wasmshim::ttrpc {

// Request metadata: an ordered list of key/value pairs; a key may repeat.
// Keys are compared case-insensitively and stored lower-case, as the Go
// library does, so "TraceParent" and "traceparent" are one key.
class Metadata {
 public:
  using Entry = std::pair<std::string, std::string>;

  Metadata() = default;
  Metadata(std::initializer_list<Entry> entries);

  // Appends a value; existing values for the key are kept.
  void add(std::string_view key, std::string value);
  // Replaces every value of the key with this one.
  void set(std::string_view key, std::string value);
  // First value of the key, if any.
  std::optional<std::string> get(std::string_view key) const;
  std::vector<std::string> get_all(std::string_view key) const;
  void erase(std::string_view key);

  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

  bool operator==(const Metadata&) const = default;

 private:
  std::vector<Entry> entries_;
};

struct Request {
  std::string service;
  std::string method;
  std::string payload;
  // Relative deadline the caller gave, 0 for none.
  std::int64_t timeout_nano = 0;
  Metadata metadata;
};

struct Response {
  Status status;
  std::string payload;
};

std::string encode_request(const Request& request);
std::string encode_response(const Response& response);
// Both return nothing when the bytes are not a valid message.
std::optional<Request> decode_request(std::string_view bytes);
std::optional<Response> decode_response(std::string_view bytes);

}  // namespace wasmshim::ttrpc

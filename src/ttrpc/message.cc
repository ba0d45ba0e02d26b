#include "wasmshim/ttrpc/message.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "proto/wire.pb.h"

namespace wasmshim::ttrpc {
namespace {

std::string lower(std::string_view key) {
  std::string out(key);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void to_wire(const Status& status, wire::Status& out) {
  out.set_code(static_cast<int32_t>(status.code()));
  out.set_message(status.message());
  for (const StatusDetail& detail : status.details()) {
    auto* any = out.add_details();
    any->set_type_url(detail.type_url);
    any->set_value(detail.value);
  }
}

Status from_wire(const wire::Status& in) {
  Status status(static_cast<StatusCode>(in.code()), in.message());
  for (const auto& any : in.details()) {
    status.add_detail(StatusDetail{any.type_url(), any.value()});
  }
  return status;
}

bool parse(google::protobuf::MessageLite& message, std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return false;
  }
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

Metadata::Metadata(std::initializer_list<Entry> entries) {
  for (const auto& [key, value] : entries) {
    add(key, value);
  }
}

void Metadata::add(std::string_view key, std::string value) {
  entries_.emplace_back(lower(key), std::move(value));
}

void Metadata::set(std::string_view key, std::string value) {
  erase(key);
  add(key, std::move(value));
}

std::optional<std::string> Metadata::get(std::string_view key) const {
  std::string wanted = lower(key);
  for (const auto& [k, v] : entries_) {
    if (k == wanted) {
      return v;
    }
  }
  return std::nullopt;
}

std::vector<std::string> Metadata::get_all(std::string_view key) const {
  std::string wanted = lower(key);
  std::vector<std::string> out;
  for (const auto& [k, v] : entries_) {
    if (k == wanted) {
      out.push_back(v);
    }
  }
  return out;
}

void Metadata::erase(std::string_view key) {
  std::string wanted = lower(key);
  std::erase_if(entries_, [&](const Entry& e) { return e.first == wanted; });
}

std::string encode_request(const Request& request) {
  wire::Request out;
  out.set_service(request.service);
  out.set_method(request.method);
  out.set_payload(request.payload);
  out.set_timeout_nano(request.timeout_nano);
  for (const auto& [key, value] : request.metadata) {
    auto* kv = out.add_metadata();
    kv->set_key(key);
    kv->set_value(value);
  }
  return out.SerializeAsString();
}

std::string encode_response(const Response& response) {
  wire::Response out;
  to_wire(response.status, *out.mutable_status());
  out.set_payload(response.payload);
  return out.SerializeAsString();
}

std::optional<Request> decode_request(std::string_view bytes) {
  wire::Request in;
  if (!parse(in, bytes)) {
    return std::nullopt;
  }
  Request out;
  out.service = std::move(*in.mutable_service());
  out.method = std::move(*in.mutable_method());
  out.payload = std::move(*in.mutable_payload());
  out.timeout_nano = in.timeout_nano();
  for (const auto& kv : in.metadata()) {
    out.metadata.add(kv.key(), kv.value());
  }
  return out;
}

std::optional<Response> decode_response(std::string_view bytes) {
  wire::Response in;
  if (!parse(in, bytes)) {
    return std::nullopt;
  }
  Response out;
  if (in.has_status()) {
    out.status = from_wire(in.status());
  }
  out.payload = std::move(*in.mutable_payload());
  return out;
}

}  // namespace wasmshim::ttrpc

// RPC status codes and the Status value carried in every ttrpc response.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wasmshim::ttrpc {

// The canonical RPC codes (the numbering gRPC and google.rpc.Code use).
enum class StatusCode : int32_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// Upper-case name as gRPC prints it ("NOT_FOUND"); "CODE(n)" for unknown values.
std::string status_code_name(StatusCode code);

// One google.protobuf.Any from google.rpc.Status.details, kept opaque.
struct StatusDetail {
  std::string type_url;
  std::string value;
  bool operator==(const StatusDetail&) const = default;
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<StatusDetail>& details() const { return details_; }
  void add_detail(StatusDetail detail) { details_.push_back(std::move(detail)); }

  // "NOT_FOUND: no such task" (or "OK").
  std::string to_string() const;

  bool operator==(const Status&) const = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::vector<StatusDetail> details_;
};

// Thrown by a handler to answer with a specific status; any other exception a
// handler throws becomes INTERNAL with the exception's message.
class StatusError : public std::runtime_error {
 public:
  explicit StatusError(Status status)
      : std::runtime_error(status.to_string()), status_(std::move(status)) {}
  StatusError(StatusCode code, std::string message)
      : StatusError(Status(code, std::move(message))) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

}  // namespace wasmshim::ttrpc

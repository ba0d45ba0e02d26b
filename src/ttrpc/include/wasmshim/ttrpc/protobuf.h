// Typed helpers: handlers and calls that speak protobuf messages instead of bytes.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "wasmshim/ttrpc/client.h"
#include "wasmshim/ttrpc/server.h"

namespace wasmshim::ttrpc {

// Wraps a typed function as a Handler: the payload is parsed as RequestT (an
// unparsable payload answers INVALID_ARGUMENT without calling fn), and the
// ResponseT fn fills is serialized when fn returns OK.
template <class RequestT, class ResponseT>
Handler typed_handler(std::function<Status(ServerContext&, const RequestT&, ResponseT&)> fn) {
  return [fn = std::move(fn)](ServerContext& context, std::string_view payload) -> Reply {
    RequestT request;
    if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return Status(StatusCode::kInvalidArgument,
                    "cannot parse request as " + std::string(RequestT().GetTypeName()));
    }
    ResponseT response;
    Status status = fn(context, request, response);
    if (!status.is_ok()) {
      return status;
    }
    return response.SerializeAsString();
  };
}

// Calls a method with a protobuf request; on OK parses the answer into response.
template <class RequestT, class ResponseT>
Status typed_call(Client& client, std::string_view service, std::string_view method,
                  const RequestT& request, ResponseT& response, const CallOptions& options = {}) {
  Response raw = client.call(service, method, request.SerializeAsString(), options);
  if (!raw.status.is_ok()) {
    return raw.status;
  }
  if (!response.ParseFromString(raw.payload)) {
    return Status(StatusCode::kInternal,
                  "cannot parse response as " + std::string(ResponseT().GetTypeName()));
  }
  return Status::ok();
}

}  // namespace wasmshim::ttrpc

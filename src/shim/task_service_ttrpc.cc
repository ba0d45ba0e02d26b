// The Task service's ttrpc binding: every method registered under
// containerd.task.v2.Task and .v3.Task, each call one SERVER span.
#include <google/protobuf/empty.pb.h>

#include "task_service.h"
#if WASMSHIM_OPENTELEMETRY
#include "ttrpc_carrier.h"
#endif
#include "wasmshim/ttrpc/protobuf.h"
#include "wasmshim/ttrpc/status.h"

namespace wasmshim::shim {

using ttrpc::StatusCode;
using ttrpc::StatusError;

namespace {

// The parent of an RPC's span: the caller's span when its metadata carries
// a valid W3C traceparent (containerd >= 1.7 sends one), else the daemon's
// shim_main.
trace::Parent rpc_parent(const ttrpc::ServerContext& context, const std::string& fallback) {
#if WASMSHIM_OPENTELEMETRY
  static const std::shared_ptr<otel::Propagator> trace_context =
      otel::make_trace_context_propagator();
  const otel::SpanContext caller =
      trace_context->extract(TtrpcMetadataCarrier(context.metadata()), otel::Context{}).span;
  if (caller.valid()) {
    trace::Parent parent = trace::current();
    parent.context.span = caller;
    return parent;
  }
#else
  (void)context;
#endif
  return trace::from_traceparent(fallback);
}

// Every Task RPC is one SERVER span named service/method, with the task's id.
template <class Request, class Response>
ttrpc::Handler handler(std::function<Response(const Request&, ttrpc::ServerContext&)> body,
                       const std::string* parent_traceparent) {
  return ttrpc::typed_handler<Request, Response>(
      [body = std::move(body), parent_traceparent](ttrpc::ServerContext& context,
                                                   const Request& request,
                                                   Response& response) -> ttrpc::Status {
        trace::ScopedSpan span("wasmshim.shim", context.service() + "/" + context.method(),
                               trace::Kind::server, rpc_parent(context, *parent_traceparent));
        span.set("rpc.system", "ttrpc")
            .set("rpc.service", context.service())
            .set("rpc.method", context.method())
            .set("container.id", request.id());
        try {
          response = body(request, context);
        } catch (const StatusError& e) {
          span.set("rpc.ttrpc.status_code", static_cast<std::int64_t>(e.status().code()));
          span.fail(e.status().message());
          throw;
        } catch (const std::exception& e) {
          span.fail(e.what());
          throw;
        }
        return {};
      });
}

template <class Request>
ttrpc::Handler empty_handler(std::function<void(const Request&)> body,
                             const std::string* parent_traceparent) {
  return handler<Request, google::protobuf::Empty>(
      [body = std::move(body)](const Request& request, ttrpc::ServerContext&) {
        body(request);
        return google::protobuf::Empty();
      },
      parent_traceparent);
}

ttrpc::Handler unimplemented(std::string reason) {
  return [reason = std::move(reason)](ttrpc::ServerContext&, std::string_view) -> ttrpc::Reply {
    return ttrpc::Status(StatusCode::kUnimplemented, reason);
  };
}

}  // namespace

void TaskService::register_with(ttrpc::Server& server) {
  const std::string* parent = &options_.parent_traceparent;
  for (const std::string service : {"containerd.task.v2.Task", "containerd.task.v3.Task"}) {
    auto add = [&](const char* method, ttrpc::Handler h) {
      server.register_method(service, method, std::move(h));
    };
    add("Create", handler<task::CreateTaskRequest, task::CreateTaskResponse>(
                      [this](const auto& r, auto&) { return create(r); }, parent));
    add("Start", handler<task::StartRequest, task::StartResponse>(
                     [this](const auto& r, auto&) { return start(r); }, parent));
    add("Delete", handler<task::DeleteRequest, task::DeleteResponse>(
                      [this](const auto& r, auto&) { return remove(r); }, parent));
    add("Pids", handler<task::PidsRequest, task::PidsResponse>(
                    [this](const auto& r, auto&) { return pids(r); }, parent));
    add("Kill", empty_handler<task::KillRequest>([this](const auto& r) { kill(r); }, parent));
    add("Wait",
        handler<task::WaitRequest, task::WaitResponse>(
            [this](const auto& r, ttrpc::ServerContext& context) {
              // The caller's going wakes the Wait, and so does its deadline.
              const ttrpc::CancelWatch watch = context.on_cancel([this] { wake_waiters(); });
              return wait(
                  r, [&context] { return context.cancelled(); },
                  context.deadline().value_or(ttrpc::ServerContext::Clock::time_point::max()));
            },
            parent));
    add("State", handler<task::StateRequest, task::StateResponse>(
                     [this](const auto& r, auto&) { return state(r); }, parent));
    add("Stats", handler<task::StatsRequest, task::StatsResponse>(
                     [this](const auto& r, auto&) { return stats(r); }, parent));
    add("Connect", handler<task::ConnectRequest, task::ConnectResponse>(
                       [this](const auto& r, auto&) { return connect(r); }, parent));
    add("Shutdown",
        empty_handler<task::ShutdownRequest>([this](const auto& r) { shutdown(r); }, parent));
    add("CloseIO",
        empty_handler<task::CloseIORequest>([this](const auto& r) { close_io(r); }, parent));
    add("Update",
        empty_handler<task::UpdateTaskRequest>([this](const auto& r) { update(r); }, parent));
    add("ResizePty",
        empty_handler<task::ResizePtyRequest>([this](const auto& r) { resize_pty(r); }, parent));
    add("Exec",
        empty_handler<task::ExecProcessRequest>([this](const auto& r) { exec(r); }, parent));
    add("Pause", unimplemented("pause is not supported for Wasm tasks yet"));
    add("Resume", unimplemented("resume is not supported for Wasm tasks yet"));
    add("Checkpoint", unimplemented("checkpoint is not supported for Wasm tasks"));
  }
}

}  // namespace wasmshim::shim

#include "wasmshim/otel/span.h"

#include <chrono>

#include "provider_state.h"

namespace wasmshim::otel {

std::int64_t now_unix_nano() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Span::Span() = default;
Span::Span(SpanContext context, std::unique_ptr<detail::SpanState> state)
    : context_(std::move(context)), state_(std::move(state)) {}
Span::Span(Span&& other) noexcept = default;

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    end();
    context_ = std::move(other.context_);
    state_ = std::move(other.state_);
  }
  return *this;
}

Span::~Span() {
  end();
}

bool Span::recording() const {
  if (!state_) {
    return false;
  }
  std::lock_guard lock(state_->mutex);
  return !state_->ended;
}

Span& Span::set_attribute(std::string_view key, AttributeValue value) {
  if (!state_) {
    return *this;
  }
  std::lock_guard lock(state_->mutex);
  if (!state_->ended) {
    const auto& limits = state_->provider->limits;
    if (!put_attribute(state_->data.attributes, key, std::move(value), limits.attribute_count,
                       limits.attribute_value_length)) {
      ++state_->data.dropped_attributes;
    }
  }
  return *this;
}

Span& Span::add_event(std::string name, Attributes attributes, std::int64_t time_unix_nano) {
  if (!state_) {
    return *this;
  }
  std::lock_guard lock(state_->mutex);
  if (state_->ended) {
    return *this;
  }
  const auto& limits = state_->provider->limits;
  if (state_->data.events.size() >= limits.event_count) {
    ++state_->data.dropped_events;
    return *this;
  }
  SpanEvent event{std::move(name), time_unix_nano != 0 ? time_unix_nano : now_unix_nano(), {}, 0};
  for (auto& attribute : attributes) {
    if (!put_attribute(event.attributes, attribute.key, std::move(attribute.value),
                       limits.attributes_per_event, limits.attribute_value_length)) {
      ++event.dropped_attributes;
    }
  }
  state_->data.events.push_back(std::move(event));
  return *this;
}

Span& Span::add_link(const SpanContext& context, Attributes attributes) {
  if (!state_ || !context.valid()) {
    return *this;
  }
  std::lock_guard lock(state_->mutex);
  if (state_->ended) {
    return *this;
  }
  const auto& limits = state_->provider->limits;
  if (state_->data.links.size() >= limits.link_count) {
    ++state_->data.dropped_links;
    return *this;
  }
  SpanLink link{context, {}, 0};
  for (auto& attribute : attributes) {
    if (!put_attribute(link.attributes, attribute.key, std::move(attribute.value),
                       limits.attributes_per_link, limits.attribute_value_length)) {
      ++link.dropped_attributes;
    }
  }
  state_->data.links.push_back(std::move(link));
  return *this;
}

Span& Span::set_status(StatusCode code, std::string message) {
  if (!state_) {
    return *this;
  }
  std::lock_guard lock(state_->mutex);
  // The spec: OK is final, and UNSET never overrides what was set.
  if (state_->ended || state_->data.status == StatusCode::ok || code == StatusCode::unset) {
    return *this;
  }
  state_->data.status = code;
  state_->data.status_message = code == StatusCode::error ? std::move(message) : std::string();
  return *this;
}

Span& Span::record_error(std::string_view message) {
  add_event("exception", {{"exception.message", std::string(message)}});
  return set_status(StatusCode::error, std::string(message));
}

Span& Span::update_name(std::string name) {
  if (!state_) {
    return *this;
  }
  std::lock_guard lock(state_->mutex);
  if (!state_->ended) {
    state_->data.name = std::move(name);
  }
  return *this;
}

void Span::end(std::int64_t end_unix_nano) {
  if (!state_) {
    return;
  }
  SpanData data;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->ended) {
      return;
    }
    state_->ended = true;
    state_->data.end_unix_nano = end_unix_nano != 0 ? end_unix_nano : now_unix_nano();
    data = std::move(state_->data);
  }
  state_->provider->finish(std::move(data));
}

ContextScope Span::activate() const {
  Context context = Context::current();
  context.span = context_;
  return ContextScope(std::move(context));
}

}  // namespace wasmshim::otel

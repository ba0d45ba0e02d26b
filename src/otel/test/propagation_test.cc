#include "wasmshim/otel/propagation.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "wasmshim/otel/session.h"

namespace wasmshim::otel {
namespace {

constexpr const char* kValid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST(Traceparent, ParsesAValidHeader) {
  auto context = parse_traceparent(kValid);
  ASSERT_TRUE(context);
  EXPECT_EQ(context->trace_id.hex(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(context->span_id.hex(), "b7ad6b7169203331");
  EXPECT_EQ(context->flags, 1);
  EXPECT_TRUE(context->remote);
  EXPECT_EQ(format_traceparent(*context), kValid);
}

TEST(Traceparent, KeepsTheWholeFlagsByte) {
  auto context = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff");
  ASSERT_TRUE(context);
  EXPECT_EQ(context->flags, 0xff);
  EXPECT_TRUE(context->sampled());
}

TEST(Traceparent, RefusesEveryMalformedShape) {
  const char* invalid[] = {
      "",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",    // short
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",  // 00 must be 55
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",  // 00 must be 55
      "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   // version ff
      "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   // version not hex
      "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",   // upper case
      "00-00000000000000000000000000000000-b7ad6b7169203331-01",   // zero trace id
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",   // zero span id
      "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   // separator
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0z",   // flags
      "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",  // future, no dash
      " 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  // leading space
  };
  for (const char* header : invalid) {
    EXPECT_FALSE(parse_traceparent(header)) << header;
  }
}

TEST(Traceparent, AcceptsLaterVersionsWithMoreFields) {
  EXPECT_TRUE(parse_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  EXPECT_TRUE(
      parse_traceparent("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future"));
}

TEST(TraceState, ParsesAndSerializes) {
  auto state = TraceState::parse("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,, vendor@tenant=x");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->size(), 3u);
  EXPECT_EQ(state->get("congo"), "t61rcWkgMzE");
  EXPECT_EQ(state->serialize(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,vendor@tenant=x");
}

TEST(TraceState, OneBadMemberDiscardsTheHeader) {
  EXPECT_FALSE(TraceState::parse("rojo=1,Upper=2"));
  EXPECT_FALSE(TraceState::parse("rojo=1,novalue"));
  EXPECT_FALSE(TraceState::parse("rojo=1,rojo=2"));  // duplicate key
  EXPECT_FALSE(TraceState::parse("rojo=a,b"));
  EXPECT_FALSE(TraceState::valid_value("trailing "));  // OWS around members is trimmed first
  EXPECT_FALSE(TraceState::parse("rojo=in\x01valid"));
  EXPECT_FALSE(TraceState::parse("1abc=x"));     // simple keys start with a letter
  EXPECT_TRUE(TraceState::parse("1abc@sys=x"));  // tenant ids may start with a digit
  EXPECT_FALSE(TraceState::parse(std::string(257, 'a') + "=x"));
}

TEST(TraceState, AtMostThirtyTwoMembers) {
  std::string header;
  for (int i = 0; i < 33; ++i) {
    header += "k" + std::to_string(i) + "=v,";
  }
  EXPECT_FALSE(TraceState::parse(header));
  TraceState state;
  for (int i = 0; i < 33; ++i) {
    ASSERT_TRUE(state.set("k" + std::to_string(i), "v"));
  }
  EXPECT_EQ(state.size(), TraceState::kMaxEntries);
  EXPECT_EQ(state.entries().front().first, "k32");
  EXPECT_FALSE(state.get("k0"));  // the oldest fell off the end
}

TEST(TraceState, SetMovesTheKeyToTheFront) {
  auto state = TraceState::parse("a=1,b=2,c=3");
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->set("c", "9"));
  EXPECT_EQ(state->serialize(), "c=9,a=1,b=2");
  EXPECT_FALSE(state->set("Bad", "x"));
  EXPECT_FALSE(state->set("ok", "bad,value"));
}

TEST(Baggage, ParsesDecodesAndFormats) {
  auto baggage = parse_baggage("userId=alice, serverNode = DF%2028 ;prop=1,isProduction=false");
  ASSERT_TRUE(baggage);
  ASSERT_EQ(baggage->size(), 3u);
  EXPECT_EQ((*baggage)[1].second, "DF 28");
  EXPECT_EQ(format_baggage(*baggage), "userId=alice,serverNode=DF%2028,isProduction=false");
  EXPECT_FALSE(parse_baggage("novalue"));
  EXPECT_FALSE(parse_baggage("bad key=1"));
  EXPECT_FALSE(parse_baggage("k=%zz"));
}

TEST(TraceContextPropagator, RoundTripsThroughAMap) {
  auto propagator = make_propagator({PropagatorKind::tracecontext, PropagatorKind::baggage});
  Context context;
  context.span = *parse_traceparent(kValid);
  context.span.trace_state = *TraceState::parse("vendor=1");
  context.baggage = {{"tenant", "blue"}};
  std::map<std::string, std::string> headers;
  MapCarrier carrier(headers);
  propagator->inject(context, carrier);
  EXPECT_EQ(headers["traceparent"], kValid);
  EXPECT_EQ(headers["tracestate"], "vendor=1");
  EXPECT_EQ(headers["baggage"], "tenant=blue");

  std::map<std::string, std::string> incoming{
      {"TraceParent", kValid}, {"tracestate", "vendor=1"}, {"baggage", "tenant=blue"}};
  MapCarrier in(incoming);
  EXPECT_EQ(propagator->extract(in, {}), context);
}

TEST(TraceContextPropagator, InvalidHeaderLeavesTheContextAlone) {
  auto propagator = make_trace_context_propagator();
  Context base;
  base.span = *parse_traceparent(kValid);
  std::map<std::string, std::string> headers{
      {"traceparent", "00-00000000000000000000000000000000-b7ad6b7169203331-01"}};
  MapCarrier carrier(headers);
  EXPECT_EQ(propagator->extract(carrier, base), base);
}

TEST(TraceContextPropagator, InvalidTraceStateIsDroppedButParentKept) {
  auto propagator = make_trace_context_propagator();
  std::map<std::string, std::string> headers{{"traceparent", kValid}, {"tracestate", "BAD=1"}};
  MapCarrier carrier(headers);
  auto context = propagator->extract(carrier, {});
  EXPECT_TRUE(context.span.valid());
  EXPECT_TRUE(context.span.trace_state.empty());
}

EnvLookup lookup_in(std::map<std::string, std::string> env) {
  return [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(EnvironmentCarrier, WritesTracecontextJsonAndPlainVariables) {
  auto propagator = make_trace_context_propagator();
  Context context;
  context.span = *parse_traceparent(kValid);
  EnvironmentCarrier carrier(lookup_in({}));
  propagator->inject(context, carrier);
  auto env = carrier.environment();
  ASSERT_EQ(env.size(), 2u);
  EXPECT_EQ(env[0], std::string("TRACECONTEXT={\"traceparent\":\"") + kValid + "\"}");
  EXPECT_EQ(env[1], std::string("TRACEPARENT=") + kValid);
}

// The JSON is written by hand: what needs escaping comes back as it went.
TEST(EnvironmentCarrier, TracecontextJsonEscapesWhatItMust) {
  EnvironmentCarrier writer(lookup_in({}));
  const std::string quoted = "k=a\"b\\c";
  const std::string control = std::string("a\x01\nb");
  writer.set("tracestate", quoted);
  writer.set("X-Other", control);
  auto env = writer.environment();
  ASSERT_EQ(env.size(), 3u);
  ASSERT_TRUE(env[0].starts_with("TRACECONTEXT="));
  auto parsed = nlohmann::json::parse(env[0].substr(std::string("TRACECONTEXT=").size()));
  EXPECT_EQ(parsed, nlohmann::json({{"tracestate", quoted}, {"x-other", control}}));
  EnvironmentCarrier reader(lookup_in({{"TRACECONTEXT", env[0].substr(13)}}));
  EXPECT_EQ(reader.get("tracestate"), quoted);
  EXPECT_EQ(reader.get("X-OTHER"), control);
}

TEST(EnvironmentCarrier, ReadsTracecontextFirstThenTraceparent) {
  auto propagator = make_trace_context_propagator();
  const std::string other = "00-11111111111111111111111111111111-2222222222222222-00";
  EnvironmentCarrier json(
      lookup_in({{"TRACECONTEXT", std::string("{\"traceparent\":\"") + kValid + "\"}"},
                 {"TRACEPARENT", other}}));
  EXPECT_EQ(format_traceparent(propagator->extract(json, {}).span), kValid);

  EnvironmentCarrier plain(lookup_in({{"TRACEPARENT", other}, {"TRACESTATE", "a=b"}}));
  auto context = propagator->extract(plain, {});
  EXPECT_EQ(format_traceparent(context.span), other);
  EXPECT_EQ(context.span.trace_state.serialize(), "a=b");

  // Not JSON: ignored like any invalid carrier, the plain variables count.
  EnvironmentCarrier broken(lookup_in({{"TRACECONTEXT", "{not json"}, {"TRACEPARENT", other}}));
  EXPECT_EQ(format_traceparent(propagator->extract(broken, {}).span), other);
}

// The process's own environment: TRACECONTEXT wins, unless the caller asks
// for the plain variables alone.
TEST(EnvironmentContext, TheTraceparentFormReadsThePlainVariablesAlone) {
  const std::string other = "00-11111111111111111111111111111111-2222222222222222-01";
  // NOLINTBEGIN(concurrency-mt-unsafe): the test's only thread.
  ::setenv("TRACECONTEXT", (std::string("{\"traceparent\":\"") + kValid + "\"}").c_str(), 1);
  ::setenv("TRACEPARENT", other.c_str(), 1);
  ::setenv("TRACESTATE", "a=b", 1);
  EXPECT_EQ(format_traceparent(context_from_environment().span), kValid);
  const Context plain = context_from_traceparent_environment();
  EXPECT_EQ(format_traceparent(plain.span), other);
  EXPECT_EQ(plain.span.trace_state.serialize(), "a=b");
  for (const char* name : {"TRACECONTEXT", "TRACEPARENT", "TRACESTATE"}) {
    ::unsetenv(name);
  }
  // NOLINTEND(concurrency-mt-unsafe)
  EXPECT_FALSE(context_from_traceparent_environment().span.valid());
}

}  // namespace
}  // namespace wasmshim::otel

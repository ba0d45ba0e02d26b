#include "otlp_encoding.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "otlp_wire.h"

namespace wasmshim::otel {
namespace {

SpanData full_span(const std::shared_ptr<const Resource>& resource,
                   const std::shared_ptr<const InstrumentationScope>& scope) {
  SpanData span;
  span.context = {*TraceId::from_hex("0af7651916cd43dd8448eb211c80319c"),
                  *SpanId::from_hex("b7ad6b7169203331"), 1, *TraceState::parse("a=b"), false};
  span.parent_span_id = *SpanId::from_hex("00f067aa0ba902b7");
  span.parent_remote = true;
  span.name = "op";
  span.kind = SpanKind::client;
  span.start_unix_nano = 1700000000000000001;
  span.end_unix_nano = 1700000000000000999;
  span.attributes = {{"s", std::string("v")},
                     {"i", std::int64_t{-3}},
                     {"d", 1.5},
                     {"b", true},
                     {"ia", std::vector<std::int64_t>{1, 2}},
                     {"sa", std::vector<std::string>{"x"}},
                     {"ba", std::vector<bool>{false}},
                     {"da", std::vector<double>{0.25}}};
  span.dropped_attributes = 2;
  span.events = {{"ev", 1700000000000000500, {{"k", std::string("v")}}, 1}};
  span.links = {{{*TraceId::from_hex("11111111111111111111111111111111"),
                  *SpanId::from_hex("2222222222222222"),
                  0,
                  {},
                  true},
                 {},
                 0}};
  span.status = StatusCode::error;
  span.status_message = "failed";
  span.resource = resource;
  span.scope = scope;
  return span;
}

TEST(OtlpEncoding, GroupsByResourceAndScope) {
  auto resource_a =
      std::make_shared<const Resource>(Resource{{{"service.name", std::string("a")}}, ""});
  auto resource_b =
      std::make_shared<const Resource>(Resource{{{"service.name", std::string("b")}}, ""});
  auto scope_1 = std::make_shared<const InstrumentationScope>(InstrumentationScope{"one", "1"});
  auto scope_2 = std::make_shared<const InstrumentationScope>(InstrumentationScope{"two", "2"});
  std::vector<SpanData> spans{full_span(resource_a, scope_1), full_span(resource_a, scope_1),
                              full_span(resource_a, scope_2), full_span(resource_b, scope_2)};
  auto request = otlp::to_request(spans);
  ASSERT_EQ(request.resource_spans_size(), 2);
  ASSERT_EQ(request.resource_spans(0).scope_spans_size(), 2);
  EXPECT_EQ(request.resource_spans(0).scope_spans(0).spans_size(), 2);
  EXPECT_EQ(request.resource_spans(0).scope_spans(1).scope().name(), "two");
  EXPECT_EQ(request.resource_spans(1).resource().attributes(0).value().string_value(), "b");
}

TEST(OtlpEncoding, CarriesEveryField) {
  auto span = full_span(nullptr, nullptr);
  auto request = otlp::to_request({&span, 1});
  const auto& out = request.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(out.trace_state(), "a=b");
  // Sampled, parent remoteness known, parent remote.
  EXPECT_EQ(out.flags(), 0x301u);
  EXPECT_EQ(out.kind(), opentelemetry::proto::trace::v1::Span::SPAN_KIND_CLIENT);
  EXPECT_EQ(out.start_time_unix_nano(), 1700000000000000001u);
  EXPECT_EQ(out.attributes_size(), 8);
  EXPECT_EQ(out.attributes(4).value().array_value().values(1).int_value(), 2);
  EXPECT_EQ(out.dropped_attributes_count(), 2u);
  EXPECT_EQ(out.events(0).dropped_attributes_count(), 1u);
  EXPECT_EQ(out.links(0).flags(), 0x300u);
  EXPECT_EQ(out.status().message(), "failed");
}

// The direct encoder must give exactly what the generated classes give.
std::string generated_bytes(std::span<const SpanData> spans) {
  return otlp::to_request(spans).SerializeAsString();
}
std::string direct_bytes(std::span<const SpanData> spans) {
  std::string out = "prefix";
  otlp::append_export_request(spans, out);
  EXPECT_TRUE(out.starts_with("prefix"));
  return out.substr(6);
}

TEST(OtlpWire, WritesTheBytesTheGeneratedClassesWrite) {
  auto span = full_span(nullptr, nullptr);
  EXPECT_EQ(direct_bytes({&span, 1}), generated_bytes({&span, 1}));
  auto resource = std::make_shared<const Resource>(
      Resource{{{"service.name", std::string("a")}}, "https://opentelemetry.io/schemas/1.24.0"});
  auto scope = std::make_shared<const InstrumentationScope>(InstrumentationScope{"one", "1"});
  span = full_span(resource, scope);
  const std::string bytes = direct_bytes({&span, 1});
  EXPECT_EQ(bytes, generated_bytes({&span, 1}));
  otlp::ExportRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.resource_spans(0).schema_url(), "https://opentelemetry.io/schemas/1.24.0");
  EXPECT_EQ(parsed.resource_spans(0).scope_spans(0).spans(0).flags(), 0x301u);
}

TEST(OtlpWire, KeepsDefaultValuesThatAreSetAndLeavesOutUnsetFields) {
  SpanData span;  // invalid ids, no name, no times, status unset
  span.attributes = {{"", std::string()},
                     {"f", false},
                     {"z", std::int64_t{0}},
                     {"n", std::int64_t{-1}},
                     {"zero", 0.0},
                     {"ea", std::vector<std::string>{}},
                     {"ba", std::vector<bool>{true, false}},
                     {"big", std::int64_t{1} << 62}};
  span.status = StatusCode::ok;  // a status with an empty message
  span.kind = SpanKind::consumer;
  span.events = {{"", 0, {}, 0}};
  EXPECT_EQ(direct_bytes({&span, 1}), generated_bytes({&span, 1}));
  std::vector<SpanData> none;
  EXPECT_EQ(direct_bytes(none), "");
}

TEST(OtlpWire, GroupsAsTheGeneratedRequestGroups) {
  auto resource_a =
      std::make_shared<const Resource>(Resource{{{"service.name", std::string("a")}}, ""});
  auto resource_b = std::make_shared<const Resource>(Resource{{}, ""});
  auto scope_1 = std::make_shared<const InstrumentationScope>(InstrumentationScope{"one", ""});
  auto scope_2 = std::make_shared<const InstrumentationScope>(InstrumentationScope{"", ""});
  // A, A, B, A: a resource seen again after another starts a new group.
  std::vector<SpanData> spans{full_span(resource_a, scope_1), full_span(resource_a, scope_2),
                              full_span(resource_a, scope_2), full_span(resource_b, nullptr),
                              full_span(resource_a, scope_1), full_span(nullptr, scope_1)};
  spans[2].parent_span_id = {};
  spans[2].context.trace_state = {};
  spans[4].status = StatusCode::unset;
  const std::string bytes = direct_bytes(spans);
  EXPECT_EQ(bytes, generated_bytes(spans));
  otlp::ExportRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.resource_spans_size(), 4);
  EXPECT_EQ(parsed.resource_spans(0).scope_spans_size(), 2);
  EXPECT_EQ(otlp::from_request(parsed).size(), spans.size());
}

// Each span encoded alone: equal bytes mean equal fields, resource and scope.
std::vector<std::string> each_encoded(const std::vector<SpanData>& spans) {
  std::vector<std::string> out;
  for (const auto& span : spans) {
    out.push_back(direct_bytes({&span, 1}));
  }
  return out;
}

std::vector<SpanData> grouped_spans() {
  auto resource_a = std::make_shared<const Resource>(
      Resource{{{"service.name", std::string("a")}, {"n", std::int64_t{-7}}}, "url"});
  auto resource_b = std::make_shared<const Resource>(Resource{{}, ""});
  auto scope_1 = std::make_shared<const InstrumentationScope>(InstrumentationScope{"one", "1"});
  auto scope_2 = std::make_shared<const InstrumentationScope>(InstrumentationScope{"two", ""});
  std::vector<SpanData> spans{full_span(resource_a, scope_1), full_span(resource_a, scope_2),
                              full_span(resource_b, scope_2), full_span(resource_a, scope_1)};
  spans[1].parent_span_id = {};
  spans[1].status = StatusCode::ok;
  spans[2].attributes = {{"empty", std::vector<double>{}}, {"f", false}, {"s", std::string()}};
  return spans;
}

TEST(OtlpWire, ReadsWhatTheGeneratedParserReads) {
  const std::vector<SpanData> spans = grouped_spans();
  const std::string bytes = direct_bytes(spans);
  otlp::ExportRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  SharedGroups groups;
  std::vector<SpanData> decoded;
  ASSERT_TRUE(otlp::decode_export_request(bytes, groups, decoded));
  EXPECT_EQ(each_encoded(decoded), each_encoded(otlp::from_request(parsed)));
  EXPECT_EQ(each_encoded(decoded), each_encoded(spans));
}

TEST(OtlpWire, SpansFromOneSourceShareTheirResourceAndScope) {
  // As the container writes them: one span per request.
  const std::vector<SpanData> spans = grouped_spans();
  SharedGroups groups;
  std::vector<SpanData> decoded;
  for (const auto& span : spans) {
    ASSERT_TRUE(otlp::decode_export_request(direct_bytes({&span, 1}), groups, decoded));
  }
  ASSERT_EQ(decoded.size(), 4u);
  EXPECT_EQ(decoded[0].resource, decoded[1].resource);
  EXPECT_NE(decoded[1].resource, decoded[2].resource);
  EXPECT_NE(decoded[0].scope, decoded[1].scope);
  EXPECT_EQ(decoded[1].scope, decoded[2].scope);
  EXPECT_EQ(decoded[0].scope, decoded[3].scope);
  // Exported together, the first two leave in one resource group.
  otlp::ExportRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(direct_bytes(decoded)));
  EXPECT_EQ(parsed.resource_spans_size(), 3);
  EXPECT_EQ(parsed.resource_spans(0).scope_spans_size(), 2);
}

TEST(OtlpWire, RefusesACutRequestWhereTheGeneratedParserDoes) {
  const std::string bytes = direct_bytes(grouped_spans());
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    const std::string cut = bytes.substr(0, size);
    otlp::ExportRequest parsed;
    SharedGroups groups;
    std::vector<SpanData> decoded(1);  // refused: left as it was
    const bool read = otlp::decode_export_request(cut, groups, decoded);
    ASSERT_EQ(read, parsed.ParseFromString(cut)) << "cut at " << size;
    if (!read) {
      ASSERT_EQ(decoded.size(), 1u);
    }
  }
}

TEST(OtlpWire, SurvivesEveryByteChanged) {
  const std::string bytes = direct_bytes(grouped_spans());
  int refused = 0;
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (int value : {0x00, 0x7f, 0x80, 0xff}) {
      std::string changed = bytes;
      changed[at] = static_cast<char>(value);
      SharedGroups groups;
      std::vector<SpanData> decoded;
      if (otlp::decode_export_request(changed, groups, decoded)) {
        (void)direct_bytes(decoded);  // what was read can be written again
      } else {
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 0);
  SharedGroups groups;
  std::vector<SpanData> decoded;
  EXPECT_FALSE(
      otlp::decode_export_request(std::string("\x0a\xff\xff\xff\xff\x0f"), groups, decoded));
  EXPECT_FALSE(otlp::decode_export_request(std::string("\x00", 1), groups, decoded));
}

TEST(OtlpEncoding, JsonFollowsTheOtlpRules) {
  auto span = full_span(nullptr, nullptr);
  auto json = nlohmann::json::parse(otlp::to_json(otlp::to_request({&span, 1})));
  const auto& out = json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(out["traceId"], "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(out["spanId"], "b7ad6b7169203331");
  EXPECT_EQ(out["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(out["links"][0]["traceId"], "11111111111111111111111111111111");
  EXPECT_EQ(out["kind"], 3);
  EXPECT_EQ(out["status"]["code"], 2);
  EXPECT_EQ(out["startTimeUnixNano"], "1700000000000000001");
  EXPECT_EQ(out["attributes"][1]["value"]["intValue"], "-3");
}

TEST(OtlpEncoding, JsonRoundTrips) {
  auto span = full_span(nullptr, nullptr);
  auto request = otlp::to_request({&span, 1});
  otlp::ExportRequest back;
  std::string error;
  ASSERT_TRUE(otlp::from_json(otlp::to_json(request), back, error)) << error;
  EXPECT_EQ(back.SerializeAsString(), request.SerializeAsString());
}

TEST(OtlpEncoding, JsonRejectsBadInput) {
  otlp::ExportRequest out;
  std::string error;
  EXPECT_FALSE(otlp::from_json("[1]", out, error));
  EXPECT_FALSE(otlp::from_json(
      "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\"}]}]}]}", out, error));
  EXPECT_EQ(error, "an id is not hex");
  EXPECT_FALSE(otlp::from_json("{\"resourceSpans\": 3}", out, error));
}

}  // namespace
}  // namespace wasmshim::otel

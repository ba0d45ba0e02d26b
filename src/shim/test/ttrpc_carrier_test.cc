// The ttrpc metadata carrier: what the tracing SDK's propagators write into
// a request's metadata, they read back from it.
#include "ttrpc_carrier.h"

#include <gtest/gtest.h>

namespace wasmshim::shim {
namespace {

constexpr const char* kTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST(TtrpcMetadataCarrier, CarriesTraceparentThroughRequestMetadata) {
  const auto propagator = otel::make_trace_context_propagator();
  otel::Context context;
  context.span = *otel::parse_traceparent(kTraceparent);
  ttrpc::Metadata metadata;
  TtrpcMetadataCarrier writer(metadata);
  propagator->inject(context, writer);
  EXPECT_EQ(metadata.get("traceparent"), kTraceparent);

  const ttrpc::Metadata& received = metadata;
  EXPECT_EQ(propagator->extract(TtrpcMetadataCarrier(received), {}).span, context.span);
}

TEST(TtrpcMetadataCarrier, ReadOnlyCarrierWritesNothing) {
  const ttrpc::Metadata metadata{{"tracestate", "a=1"}};
  TtrpcMetadataCarrier reader(metadata);
  reader.set("traceparent", kTraceparent);
  EXPECT_FALSE(metadata.get("traceparent"));
  EXPECT_EQ(reader.get("tracestate"), "a=1");
}

}  // namespace
}  // namespace wasmshim::shim

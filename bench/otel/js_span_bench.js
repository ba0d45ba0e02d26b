// The peer for the span-cost benchmark: the OpenTelemetry JS SDK
// (@opentelemetry/sdk-trace-base, installed with the interop receiver's
// packages) doing the same work: start a span, set three attributes, end
// it, with a batch processor and an exporter that drops everything.
//   node js_span_bench.js NODE_MODULES SPANS SAMPLED(0|1)
'use strict';
const path = require('path');
const { createRequire } = require('module');

const [modules, spansText, sampledText] = process.argv.slice(2);
const requireModule = createRequire(path.join(path.resolve(modules), 'index.js'));
const sdk = requireModule('@opentelemetry/sdk-trace-base');

const exporter = { export: (spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };
const provider = new sdk.BasicTracerProvider({
  sampler: sampledText === '1' ? new sdk.AlwaysOnSampler() : new sdk.AlwaysOffSampler(),
});
provider.addSpanProcessor(new sdk.BatchSpanProcessor(exporter, { maxQueueSize: 1 << 20,
                                                                  maxExportBatchSize: 512 }));
const tracer = provider.getTracer('bench');
const spans = Number(spansText);

function run(count) {
  for (let i = 0; i < count; ++i) {
    const span = tracer.startSpan('op');
    span.setAttribute('container.id', 'abc');
    span.setAttribute('exit_code', i);
    span.setAttribute('cached', true);
    span.end();
  }
}

run(Math.min(spans, 20000));  // warm the JIT
const start = process.hrtime.bigint();
run(spans);
const elapsed = Number(process.hrtime.bigint() - start);
process.stdout.write(`${elapsed / spans}\n`);
provider.shutdown().then(() => process.exit(0));

// An OTLP trace receiver built only from the OpenTelemetry project's own
// decoders: the generated protobufjs root shipped in
// @opentelemetry/otlp-transformer and a @grpc/grpc-js server. The interop
// tests point wasmshim's exporters at it and read what it decoded.
//
//   node receiver.js --modules NODE_MODULES --out FILE [--http-port N] [--https-port N --cert F --key F
//                    [--client-ca F]] [--grpc-port N] [--grpcs-port N]
//                    [--http-answers 503,503,200]
//
// Prints "READY http=N https=N grpc=N grpcs=N" once listening (0: off). Each
// request becomes one JSON line in FILE: protocol, headers, whether the body
// was gzip, and the decoded request with ids as hex and 64-bit numbers as
// strings.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const zlib = require('zlib');
const { createRequire } = require('module');

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    args[argv[i].replace(/^--/, '')] = argv[i + 1];
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
// The packages live in the build folder (scripts/npm-deps.sh puts them there).
const requireModule = createRequire(path.join(path.resolve(args.modules), 'index.js'));
const grpc = requireModule('@grpc/grpc-js');
const root = requireModule('@opentelemetry/otlp-transformer/build/src/generated/root');

const service = root.opentelemetry.proto.collector.trace.v1;
const Request = service.ExportTraceServiceRequest;
const Response = service.ExportTraceServiceResponse;

const out = fs.openSync(args.out, 'a');
let answers = (args['http-answers'] || '200').split(',').map(Number);

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

// protobufjs toObject gives bytes as base64; OTLP people read ids as hex.
function idsToHex(node) {
  if (Array.isArray(node)) {
    node.forEach(idsToHex);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (ID_KEYS.has(key) && typeof value === 'string') {
        node[key] = Buffer.from(value, 'base64').toString('hex');
      } else {
        idsToHex(value);
      }
    }
  }
}

// OTLP/JSON carries ids as hex; protobufjs fromObject wants base64 for bytes.
function idsToBase64(node) {
  if (Array.isArray(node)) {
    node.forEach(idsToBase64);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (ID_KEYS.has(key) && typeof value === 'string') {
        if (!/^([0-9a-fA-F]{2})*$/.test(value)) {
          throw new Error(`${key} is not hex: ${value}`);
        }
        node[key] = Buffer.from(value, 'hex').toString('base64');
      } else {
        idsToBase64(value);
      }
    }
  }
}

function record(protocol, headers, gzip, message) {
  const object = Request.toObject(message, { longs: String, bytes: String, enums: Number });
  idsToHex(object);
  fs.writeSync(out, JSON.stringify({ protocol, headers, gzip, request: object }) + '\n');
}

function handleHttp(protocol, req, res) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const status = answers.length > 1 ? answers.shift() : answers[0];
    let body = Buffer.concat(chunks);
    const gzip = req.headers['content-encoding'] === 'gzip';
    try {
      if (req.url !== '/v1/traces') {
        throw new Error(`unexpected path ${req.url}`);
      }
      if (gzip) {
        body = zlib.gunzipSync(body);
      }
      const type = req.headers['content-type'];
      let message;
      if (type === 'application/x-protobuf') {
        message = Request.decode(body);
      } else if (type === 'application/json') {
        const object = JSON.parse(body.toString('utf8'));
        idsToBase64(object);
        // fromObject applies the proto3 JSON rules (64-bit integers may be
        // strings); verify then checks the message it built.
        message = Request.fromObject(object);
        const problem = Request.verify(message);
        if (problem) {
          throw new Error(problem);
        }
      } else {
        throw new Error(`unexpected content-type ${type}`);
      }
      record(protocol + (type === 'application/json' ? '/json' : '/protobuf'), req.headers, gzip,
             message);
    } catch (error) {
      fs.writeSync(out, JSON.stringify({ protocol, error: String(error) }) + '\n');
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(String(error));
      return;
    }
    if (status !== 200) {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('scripted failure');
      return;
    }
    const isJson = req.headers['content-type'] === 'application/json';
    res.writeHead(200, { 'content-type': req.headers['content-type'] });
    res.end(isJson ? '{}' : Buffer.from(Response.encode(Response.create()).finish()));
  });
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

const traceService = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: (message) => Buffer.from(Request.encode(message).finish()),
    requestDeserialize: (bytes) => Request.decode(bytes),
    responseSerialize: (message) => Buffer.from(Response.encode(message).finish()),
    responseDeserialize: (bytes) => Response.decode(bytes),
  },
};

function grpcServer(port, credentials, protocol) {
  return new Promise((resolve, reject) => {
    const server = new grpc.Server();
    server.addService(traceService, {
      Export: (call, callback) => {
        const metadata = call.metadata.getMap();
        record(protocol, metadata, metadata['grpc-encoding'] === 'gzip', call.request);
        callback(null, Response.create());
      },
    });
    server.bindAsync(`127.0.0.1:${port}`, credentials, (error, bound) => {
      if (error) {
        reject(error);
      } else {
        resolve(bound);
      }
    });
  });
}

async function main() {
  const ports = { http: 0, https: 0, grpc: 0, grpcs: 0 };
  if (args['http-port'] !== undefined) {
    ports.http = await listen(http.createServer((q, s) => handleHttp('http', q, s)),
                              Number(args['http-port']));
  }
  if (args['https-port'] !== undefined) {
    const options = { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) };
    if (args['client-ca']) {
      options.ca = fs.readFileSync(args['client-ca']);
      options.requestCert = true;
      options.rejectUnauthorized = true;
    }
    ports.https = await listen(https.createServer(options, (q, s) => handleHttp('https', q, s)),
                               Number(args['https-port']));
  }
  if (args['grpc-port'] !== undefined) {
    ports.grpc = await grpcServer(Number(args['grpc-port']), grpc.ServerCredentials.createInsecure(),
                                  'grpc');
  }
  if (args['grpcs-port'] !== undefined) {
    const credentials = grpc.ServerCredentials.createSsl(
        null, [{ cert_chain: fs.readFileSync(args.cert), private_key: fs.readFileSync(args.key) }],
        false);
    ports.grpcs = await grpcServer(Number(args['grpcs-port']), credentials, 'grpcs');
  }
  process.stdout.write(`READY http=${ports.http} https=${ports.https} grpc=${ports.grpc} ` +
                       `grpcs=${ports.grpcs}\n`);
}

main().catch((error) => {
  process.stderr.write(`receiver: ${error.stack || error}\n`);
  process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));

// Command go-ttrpc-peer is the Go ttrpc library (Debian's
// golang-github-containerd-ttrpc-dev) acting as server and as client, so that
// wasmshim's ttrpc can be checked against an implementation we did not write.
//
//	go-ttrpc-peer serve SOCKET
//	go-ttrpc-peer call SOCKET METHOD PAYLOAD [-timeout DUR] [KEY=VALUE ...]
//	go-ttrpc-peer concurrent SOCKET CALLS
//	go-ttrpc-peer bench SOCKET CONCURRENCY DURATION PAYLOAD_BYTES
//	go-ttrpc-peer rawcall SOCKET SERVICE METHOD HEX_PAYLOAD [KEY=VALUE ...]
//
// rawcall sends any service's request as bytes (hex) with metadata and
// prints {"code","message","payload"} with the response bytes in hex.
//
// The service, wasmshim.interop.v1.Peer, takes and returns
// google.protobuf.StringValue:
//
//	Echo      returns the value it got
//	Metadata  returns the request metadata as "key=v1,v2;" sorted by key
//	Fail      takes "CODE:message" and answers with that status
//	Sleep     takes milliseconds, waits or gives up when the context ends
//	Deadline  answers "deadline" when the call carried a timeout, else "none"
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const service = "wasmshim.interop.v1.Peer"

func main() {
	if len(os.Args) < 3 {
		fail("usage: go-ttrpc-peer serve|call|concurrent|bench SOCKET ...")
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2])
	case "call":
		err = call(os.Args[2], os.Args[3:])
	case "concurrent":
		err = concurrent(os.Args[2], os.Args[3:])
	case "bench":
		err = bench(os.Args[2], os.Args[3:])
	case "rawcall":
		err = rawcall(os.Args[2], os.Args[3:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "go-ttrpc-peer:", msg)
	os.Exit(2)
}

func stringValue(unmarshal func(interface{}) error) (string, error) {
	var in types.StringValue
	if err := unmarshal(&in); err != nil {
		return "", err
	}
	return in.Value, nil
}

func serve(socket string) error {
	server, err := ttrpc.NewServer()
	if err != nil {
		return err
	}
	server.Register(service, map[string]ttrpc.Method{
		"Echo": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			v, err := stringValue(unmarshal)
			if err != nil {
				return nil, err
			}
			return &types.StringValue{Value: v}, nil
		},
		"Metadata": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			if _, err := stringValue(unmarshal); err != nil {
				return nil, err
			}
			md, _ := ttrpc.GetMetadata(ctx)
			keys := make([]string, 0, len(md))
			for k := range md {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "%s=%s;", k, strings.Join(md[k], ","))
			}
			return &types.StringValue{Value: b.String()}, nil
		},
		"Fail": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			v, err := stringValue(unmarshal)
			if err != nil {
				return nil, err
			}
			code, msg, _ := strings.Cut(v, ":")
			n, err := strconv.Atoi(code)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "bad code %q", code)
			}
			return nil, status.Error(codes.Code(n), msg)
		},
		"Sleep": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			v, err := stringValue(unmarshal)
			if err != nil {
				return nil, err
			}
			ms, err := strconv.Atoi(v)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "bad duration %q", v)
			}
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
				return &types.StringValue{Value: "slept"}, nil
			case <-ctx.Done():
				return nil, status.Error(codes.DeadlineExceeded, ctx.Err().Error())
			}
		},
		"Deadline": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			if _, err := stringValue(unmarshal); err != nil {
				return nil, err
			}
			if _, ok := ctx.Deadline(); ok {
				return &types.StringValue{Value: "deadline"}, nil
			}
			return &types.StringValue{Value: "none"}, nil
		},
	})
	os.Remove(socket)
	listener, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		server.Shutdown(ctx)
	}()
	if err := server.Serve(context.Background(), listener); err != nil && err != ttrpc.ErrServerClosed {
		return err
	}
	return nil
}

func dial(socket string) (*ttrpc.Client, error) {
	conn, err := net.Dial("unix", socket)
	if err != nil {
		return nil, err
	}
	return ttrpc.NewClient(conn), nil
}

type callResult struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Payload string `json:"payload"`
}

// call prints one JSON line describing the outcome of a single call.
func call(socket string, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("call needs METHOD PAYLOAD")
	}
	method, payload := args[0], args[1]
	ctx := context.Background()
	md := ttrpc.MD{}
	for i := 2; i < len(args); i++ {
		if args[i] == "-timeout" && i+1 < len(args) {
			d, err := time.ParseDuration(args[i+1])
			if err != nil {
				return err
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
			i++
			continue
		}
		k, v, ok := strings.Cut(args[i], "=")
		if !ok {
			return fmt.Errorf("metadata %q is not KEY=VALUE", args[i])
		}
		md.Append(k, v)
	}
	if len(md) > 0 {
		ctx = ttrpc.WithMetadata(ctx, md)
	}
	client, err := dial(socket)
	if err != nil {
		return err
	}
	defer client.Close()
	var resp types.StringValue
	err = client.Call(ctx, service, method, &types.StringValue{Value: payload}, &resp)
	st, _ := status.FromError(err)
	out, _ := json.Marshal(callResult{Code: int(st.Code()), Message: st.Message(), Payload: resp.Value})
	fmt.Println(string(out))
	return nil
}

// concurrent makes CALLS Echo calls at once over one connection and reports
// how many answers matched their requests.
func concurrent(socket string, args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("concurrent needs CALLS")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	client, err := dial(socket)
	if err != nil {
		return err
	}
	defer client.Close()
	var matched, mismatched int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			want := fmt.Sprintf("go call %d", i)
			var resp types.StringValue
			err := client.Call(context.Background(), service, "Echo", &types.StringValue{Value: want}, &resp)
			if err == nil && resp.Value == want {
				atomic.AddInt64(&matched, 1)
			} else {
				atomic.AddInt64(&mismatched, 1)
			}
		}(i)
	}
	wg.Wait()
	out, _ := json.Marshal(map[string]int64{"matched": matched, "mismatched": mismatched})
	fmt.Println(string(out))
	return nil
}

type benchResult struct {
	Calls     int64   `json:"calls"`
	Errors    int64   `json:"errors"`
	Seconds   float64 `json:"seconds"`
	P50Micros float64 `json:"p50_us"`
	P99Micros float64 `json:"p99_us"`
}

// bench runs CONCURRENCY callers, each on its own goroutine sharing one
// connection, issuing Echo calls for DURATION; prints a JSON summary.
func bench(socket string, args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("bench needs CONCURRENCY DURATION PAYLOAD_BYTES")
	}
	concurrency, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	duration, err := time.ParseDuration(args[1])
	if err != nil {
		return err
	}
	size, err := strconv.Atoi(args[2])
	if err != nil {
		return err
	}
	client, err := dial(socket)
	if err != nil {
		return err
	}
	defer client.Close()
	payload := strings.Repeat("x", size)
	var mu sync.Mutex
	var latencies []time.Duration
	var errors int64
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(duration)
	for c := 0; c < concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			for time.Now().Before(stop) {
				t0 := time.Now()
				var resp types.StringValue
				if err := client.Call(context.Background(), service, "Echo", &types.StringValue{Value: payload}, &resp); err != nil {
					atomic.AddInt64(&errors, 1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))].Nanoseconds()) / 1000
	}
	out, _ := json.Marshal(benchResult{Calls: int64(len(latencies)), Errors: errors, Seconds: elapsed, P50Micros: pct(0.5), P99Micros: pct(0.99)})
	fmt.Println(string(out))
	return nil
}

// rawMessage carries bytes through ttrpc's protobuf codec untouched.
type rawMessage struct{ data []byte }

func (m *rawMessage) Reset()                   { m.data = nil }
func (m *rawMessage) String() string           { return hex.EncodeToString(m.data) }
func (m *rawMessage) ProtoMessage()            {}
func (m *rawMessage) Marshal() ([]byte, error) { return m.data, nil }
func (m *rawMessage) Unmarshal(b []byte) error { m.data = append([]byte(nil), b...); return nil }

func rawcall(socket string, args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("rawcall needs SERVICE METHOD HEX_PAYLOAD")
	}
	payload, err := hex.DecodeString(args[2])
	if err != nil {
		return err
	}
	md := ttrpc.MD{}
	for _, kv := range args[3:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("metadata %q is not KEY=VALUE", kv)
		}
		md.Append(k, v)
	}
	ctx := context.Background()
	if len(md) > 0 {
		ctx = ttrpc.WithMetadata(ctx, md)
	}
	client, err := dial(socket)
	if err != nil {
		return err
	}
	defer client.Close()
	var resp rawMessage
	err = client.Call(ctx, args[0], args[1], &rawMessage{data: payload}, &resp)
	st, _ := status.FromError(err)
	out, _ := json.Marshal(callResult{Code: int(st.Code()), Message: st.Message(),
		Payload: hex.EncodeToString(resp.data)})
	fmt.Println(string(out))
	return nil
}

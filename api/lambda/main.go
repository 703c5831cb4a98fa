// Command bootstrap is the API's Lambda function (runtime provided.al2023, built with
// -tags lambda.norpc): the api handler over the DynamoDB table, nothing else.
//
// Environment:
//
//	AWS_REGION         the region (set by Lambda); stamped on writes and reads
//	TWINEDGE_TABLE     the DynamoDB table (global table replica in this region)
//	TWINEDGE_REGIONS   all regions, primary first, comma separated (for /api/health)
//	TWINEDGE_API_FAIL  "1" makes every route answer 503 (demo switch; see api.FailEnv)
//	TWINEDGE_STORE     "memory" serves from process memory instead of the table (self-checks only)
//	AWS_ENDPOINT_URL_DYNAMODB  the SDK's standard endpoint override (tests against moto)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/twinedge/twinedge/api"
	"github.com/twinedge/twinedge/api/dynamo"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := newHandler(context.Background(), os.Getenv, logger)
	if err != nil {
		// An init error: Lambda reports it and retries the cold start.
		logger.Error("bootstrap", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

// newHandler builds the API handler from the function's environment.
func newHandler(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*api.Handler, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		return nil, errors.New("AWS_REGION is not set")
	}
	var regions []string
	for _, r := range strings.Split(getenv("TWINEDGE_REGIONS"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			regions = append(regions, r)
		}
	}
	var store api.Store
	switch s := getenv("TWINEDGE_STORE"); s {
	case "memory":
		store = api.NewMemoryStore()
	case "", "dynamodb":
		table := getenv("TWINEDGE_TABLE")
		if table == "" {
			return nil, errors.New("TWINEDGE_TABLE is not set")
		}
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
		if err != nil {
			return nil, fmt.Errorf("load AWS config: %w", err)
		}
		store = dynamo.New(dynamodb.NewFromConfig(cfg), table)
	default:
		return nil, fmt.Errorf("TWINEDGE_STORE=%q: use dynamodb (default) or memory", s)
	}
	return api.NewHandler(api.Config{Region: region, Regions: regions, Store: store, Getenv: getenv, Logger: logger})
}

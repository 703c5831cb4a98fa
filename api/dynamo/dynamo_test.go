package dynamo_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twinedge/twinedge/api"
	"github.com/twinedge/twinedge/api/dynamo"
	"github.com/twinedge/twinedge/api/storetest"
	"github.com/twinedge/twinedge/internal/testtool"
)

// TestMain stops the moto_server the package's tests share (testtool.Moto).
func TestMain(m *testing.M) {
	code := m.Run()
	testtool.StopMoto()
	os.Exit(code)
}

// TestDynamoStoreContract runs the Store contract against moto_server's DynamoDB. moto
// follows AWS here (conditional puts, GSI queries, ReturnValuesOnConditionCheckFailure); no
// workaround from spec/moto-quirks.md is needed.
func TestDynamoStoreContract(t *testing.T) {
	endpoint := testtool.Moto(t)
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) api.Store {
		table := fmt.Sprintf("messages-%d", n.Add(1))
		if err := dynamo.CreateTable(context.Background(), client, table); err != nil {
			t.Fatal(err)
		}
		return dynamo.New(client, table)
	})

	t.Run("ping fails without the table", func(t *testing.T) {
		if err := dynamo.New(client, "missing").Ping(context.Background()); err == nil {
			t.Error("ping on a missing table succeeded")
		}
	})
}

// Package dynamo is the api.Store on a DynamoDB table: the store of the Lambda
// bootstrap on AWS. It is a package of its own so that programs which only host the
// handler locally (the twinedge command) do not compile the DynamoDB client.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/twinedge/twinedge/api"
)

// Table layout.
//
// The base table is keyed by the message id alone (HASH "id"), so "does this id exist?" is
// one conditional PutItem: attribute_not_exists(id). A key that contained the time could not
// do that, because a retried write carries a new acceptance time.
//
// The newest N messages are one Query on the global secondary index api.NewestIndex:
// HASH "board" (always api.BoardPartition), RANGE "sk" (api.Message.SortKey: fixed-width UTC time,
// then the id), read backwards with Limit N. Pages continue with sk < cursor.
//
// Hot partition, chosen knowingly: every message lands in the one index partition "msg".
// A partition key takes up to 1,000 writes/s and 3,000 read units/s; a human-typed board
// with polling clients is far below the write limit, and a Query of 50 messages of ~300 B
// costs ~2 read units (eventually consistent), so ~1,500 polls/s fit. The base table spreads
// writes by id. The way out, if a board outgrows that, is time buckets
// ("msg#2026-11-26"): newest N becomes one Query in the common case and two across a bucket
// boundary. It is not worth the second query for this demo.

// pingID is a key no message can have (ids are UUIDs), read by Ping.
const pingID = "#ping"

// Client is the part of the DynamoDB API the store uses; *dynamodb.Client has it.
type Client interface {
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Store is the api.Store on a DynamoDB table (a global table replica on AWS). Conditions are
// evaluated in the local region only, as for every global table; the same id written in two
// regions during a partition ends as last writer wins, with the same content on both sides.
type Store struct {
	client Client
	table  string
}

// New returns a store on the named table, laid out as CreateTable makes it.
func New(client Client, table string) *Store {
	return &Store{client: client, table: table}
}

// Put implements Store with a conditional write.
func (s *Store) Put(ctx context.Context, m api.Message) (api.Message, api.Outcome, error) {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                toItem(m),
		ConditionExpression:                 aws.String("attribute_not_exists(id)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return m, api.Created, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return api.Message{}, 0, fmt.Errorf("put message %s into %s: %w", m.ID, s.table, err)
	}
	item := ccf.Item
	if item == nil {
		// Older endpoints ignore ReturnValuesOnConditionCheckFailure; read it instead.
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.table), Key: idKey(m.ID), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return api.Message{}, 0, fmt.Errorf("read existing message %s from %s: %w", m.ID, s.table, err)
		}
		item = out.Item
	}
	old, err := fromItem(item)
	if err != nil {
		return api.Message{}, 0, fmt.Errorf("existing message %s in %s: %w", m.ID, s.table, err)
	}
	if old.SameContent(m) {
		return old, api.Existing, nil
	}
	return old, api.Conflict, nil
}

// List implements Store with one Query on api.NewestIndex (more only if DynamoDB cuts a page at 1 MB).
func (s *Store) List(ctx context.Context, limit int, cursor string) ([]api.Message, string, error) {
	cond := "board = :b"
	values := map[string]types.AttributeValue{":b": &types.AttributeValueMemberS{Value: api.BoardPartition}}
	if cursor != "" {
		sk, err := api.DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		cond += " AND sk < :c"
		values[":c"] = &types.AttributeValueMemberS{Value: sk}
	}
	var out []api.Message
	var start map[string]types.AttributeValue
	more := false
	for {
		// Ask for one more than needed: it tells whether a next page exists without an
		// extra, possibly empty, round trip.
		res, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(api.NewestIndex),
			KeyConditionExpression:    aws.String(cond),
			ExpressionAttributeValues: values,
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(int32(limit + 1 - len(out))),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, "", fmt.Errorf("query %s: %w", s.table, err)
		}
		for _, item := range res.Items {
			m, err := fromItem(item)
			if err != nil {
				return nil, "", fmt.Errorf("message in %s: %w", s.table, err)
			}
			if len(out) == limit {
				more = true
				break
			}
			out = append(out, m)
		}
		if more || len(res.LastEvaluatedKey) == 0 {
			break
		}
		start = res.LastEvaluatedKey
	}
	next := ""
	if more {
		next = api.EncodeCursor(out[len(out)-1].SortKey())
	}
	return out, next, nil
}

// Ping implements Store: a read of a key that never exists proves the table answers and the
// function may read it.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: idKey(pingID)})
	if err != nil {
		return fmt.Errorf("read %s: %w", s.table, err)
	}
	return nil
}

// CreateTable creates the table layout Store expects (on-demand capacity) and waits
// until it is active. On AWS the table comes from CloudFormation; this is for tests and for
// local stand-ins of DynamoDB.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	s := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{s("id"), s("board"), s("sk")},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(api.NewestIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("board"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", table, err)
	}
	return nil
}

func idKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
}

func toItem(m api.Message) map[string]types.AttributeValue {
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	return map[string]types.AttributeValue{
		"id":         str(m.ID),
		"board":      str(api.BoardPartition),
		"sk":         str(m.SortKey()),
		"author":     str(m.Author),
		"text":       str(m.Text),
		"acceptedIn": str(m.AcceptedIn),
		"acceptedAt": str(m.AcceptedAt.UTC().Format(time.RFC3339Nano)),
	}
}

func fromItem(item map[string]types.AttributeValue) (api.Message, error) {
	get := func(name string) (string, error) {
		v, ok := item[name].(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("attribute %s is missing or not a string", name)
		}
		return v.Value, nil
	}
	var m api.Message
	var err error
	var at string
	for _, f := range []struct {
		name string
		dst  *string
	}{{"id", &m.ID}, {"author", &m.Author}, {"text", &m.Text}, {"acceptedIn", &m.AcceptedIn}, {"acceptedAt", &at}} {
		if *f.dst, err = get(f.name); err != nil {
			return api.Message{}, err
		}
	}
	if m.AcceptedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return api.Message{}, fmt.Errorf("attribute acceptedAt: %w", err)
	}
	return m, nil
}

var _ api.Store = (*Store)(nil)

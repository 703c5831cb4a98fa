// Package build is twinedge's release pipeline: it puts a built site into the bucket
// of every region, invalidates what changed at the edge, records the release, and
// rolls back to a recorded release without rebuilding. It speaks only the S3 and
// CloudFront APIs (aws-sdk-go-v2), on AWS and locally alike.
//
// # Plan before action
//
// A release first lists each bucket (one ListObjectsV2 pass, never a GET per object)
// and reads the newest release record. An object's content is proven by its ETag
// matching the MD5 in the record; its served headers by the record too, as long as
// nothing wrote the object after the record was stored (its LastModified) and no
// unfinished release meant to write it (releases/pending.json). Objects the record
// cannot vouch for are asked about with HEAD: every object carries
// x-amz-meta-twinedge-sha256 and x-amz-meta-twinedge-headers, so a header-only change
// is an upload, which ETag-based tools miss. The plan (uploads with reasons, deletes,
// invalidation paths with their cost) is data: a dry run prints it and stops.
//
// # Order
//
// See Release. Assets reach every bucket before any page that needs them, pages reach
// the secondaries before the primary, and deletes only remove keys that none of the
// last Keep releases references, after everything else.
//
// # One release at a time
//
// A release that has something to change takes a lock in every region's record bucket
// (releases/lock.json, an S3 conditional write that only one writer wins), then checks
// that no release was recorded since it planned, and only then changes anything. A
// second release meanwhile stops with ErrLocked, naming the holder. A lock left by a
// release that died is taken over at once when its process ran on this machine and has
// exited, otherwise after Options.LockTTL, or with --break-lock.
// Dry runs and unchanged rebuilds write nothing, not even the lock. See lock.go.
//
// # Where records live, and why not in the site bucket
//
// The edge serves every key of a site bucket: the default behaviour forwards any path
// to the origin group, so "/_twinedge/releases/x.json" would be public. Hiding a prefix
// would take a Deny in the bucket policy of both regions (a deny in one alone is
// answered by the other: the group fails over on 403), which the local origins do not
// model, or an extra behaviour. Records (and the rollback copies of overwritten pages) therefore live in
// a separate record bucket per region (Target.RecordBucket, default
// "<site bucket>-releases") that no origin of the distribution points at: nothing the
// edge can reach, on AWS or locally. A record bucket per region keeps rollback working
// while the other region is down. Release creates the record bucket when it is missing.
//
// # Rollback
//
// Pages are overwritten in place, so before a release overwrites a live page it copies
// it, server-side, to blobs/<sha256> in the region's record bucket; assets stay in the
// site bucket for Keep releases. Rollback is then a plan like any other, whose bytes
// come from those copies (CopyObject, no upload, no rebuild), followed by the same
// invalidation.
package build

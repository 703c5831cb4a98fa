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
// # What a viewer can see while a release runs, and after it stops
//
// S3 has no multi-object commit, so the pages of one region cannot change at one
// instant. What a release guarantees instead, in every region:
//   - no page of the new release is visible before every new object of that region
//     (and of every other region) is in place: pages are the last writes, after all
//     assets, and each PUT is whole (S3 serves the old object or the new one);
//   - a page of the previous release always finds its assets: the last Keep releases'
//     assets stay, and deletes come after everything else;
//   - pages go to the secondaries first, so the primary, which viewers use, changes
//     last; the mixed window of a region lasts as long as its pages' PUTs (all at once,
//     Concurrency at a time), and a viewer meanwhile sees old and new pages side by side,
//     each complete;
//   - a release that stops part way (an error, or killed) leaves its intent in
//     releases/pending.json, written before anything changed. The next run completes it
//     if it is the same release (same id: re-running completes it), or else first
//     restores, from the rollback copies, every page the stopped release overwrote and
//     removes the pages it added, before it uploads anything of its own
//     (bucketState.planRecovery). Either way, the mixed state lasts until the next run
//     starts, never beyond its first writes.
//
// # Speed
//
// The phases and their wall times are in Report.Phases (--json). Hashing the site runs
// while the buckets are listed; both regions are written at once, within the order
// above; each record is fetched and decoded once for all regions (recordCache); a PUT
// is signed with the SHA-256 the manifest already has (withPayloadSHA256) and carries
// Content-MD5, so the SDK reads each body once, to send it, with no CRC32 or
// aws-chunked framing (NewS3Client). Files of 64 MB or more go up by resumable
// multipart upload (multipart.go).
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

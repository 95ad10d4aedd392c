/// # TwinStorageS3
///
/// `BlobBackend` on an S3-compatible object store (AWS S3, Ceph RGW, MinIO) over async-http-client,
/// with requests signed by AWS Signature Version 4 (`SignatureV4`, built on swift-crypto's HMAC). It
/// owns the wire protocol: path-style URLs, ListObjectsV2 pagination, retries with backoff, and
/// the mapping of S3's refusals to typed errors. No S3 SDK: the few calls a blob backend needs are
/// small, and the signer is tested against AWS's published examples and botocore.
public enum TwinStorageS3Module {}

//! Media blobs behind one trait: a local folder (embedded default) and S3.

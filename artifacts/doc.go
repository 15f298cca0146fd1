// Package artifacts keeps files in trainyard's database, so that the server
// and every worker that reaches the database read them with no shared
// filesystem: weights, checkpoints and imported datasets. An artifact is
// stored as rows of chunks (ChunkSize bytes each, the last one shorter), written
// and read one chunk at a time, so no file is ever held whole in memory, with
// its size and sha256. The same code runs on SQLite and PostgreSQL.
//
// A writer's chunks are invisible until Commit, which in one transaction
// replaces the complete artifact of the same name, if any, and may check a
// condition of the caller's first (say, that the writer still holds its
// run's lease). A reader reads the complete artifact it opened; Serve answers
// an HTTP request with Content-Length, Range support, and the sha256 as the
// ETag and a Digest header.
//
// artifacts imports nothing of trainyard; runs, trainer and server may
// import it.
package artifacts

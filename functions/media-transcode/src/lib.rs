//! Media transcoding with ffmpeg, as a library and an AWS Lambda function.

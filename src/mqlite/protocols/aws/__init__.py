"""The AWS HTTP front-ends (SQS, STS; SNS, Kinesis, Firehose, EventBridge to come).

`app.mount(app, core, settings)` serves them on the server's aiohttp application;
`wire/` is the one model-driven codec for the `json` and `query` protocols; `sigv4`
verifies signatures; `errors` maps core errors to AWS codes; each service is a module
(`sqs/`, `sts`) exposing `build(core, settings) -> frontend.ServiceFrontend`.
"""

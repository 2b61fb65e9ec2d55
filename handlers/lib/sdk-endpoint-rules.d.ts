// The SDK clients' endpoint rules, imported without their clients (aws-json.ts): the files
// have no types of their own beside them; their declarations are in the packages' dist-types.
declare module "@aws-sdk/client-dynamodb/dist-es/endpoint/endpointResolver" {
  export { defaultEndpointResolver } from "@aws-sdk/client-dynamodb/dist-types/endpoint/endpointResolver";
}
declare module "@aws-sdk/client-dynamodb/dist-es/endpoint/EndpointParameters" {
  export { commonParams } from "@aws-sdk/client-dynamodb/dist-types/endpoint/EndpointParameters";
}
declare module "@aws-sdk/client-sqs/dist-es/endpoint/endpointResolver" {
  export { defaultEndpointResolver } from "@aws-sdk/client-sqs/dist-types/endpoint/endpointResolver";
}
declare module "@aws-sdk/client-sqs/dist-es/endpoint/EndpointParameters" {
  export { commonParams } from "@aws-sdk/client-sqs/dist-types/endpoint/EndpointParameters";
}
declare module "@aws-sdk/client-ssm/dist-es/endpoint/endpointResolver" {
  export { defaultEndpointResolver } from "@aws-sdk/client-ssm/dist-types/endpoint/endpointResolver";
}
declare module "@aws-sdk/client-ssm/dist-es/endpoint/EndpointParameters" {
  export { commonParams } from "@aws-sdk/client-ssm/dist-types/endpoint/EndpointParameters";
}
declare module "@aws-sdk/client-eventbridge/dist-es/endpoint/endpointResolver" {
  export { defaultEndpointResolver } from "@aws-sdk/client-eventbridge/dist-types/endpoint/endpointResolver";
}
declare module "@aws-sdk/client-eventbridge/dist-es/endpoint/EndpointParameters" {
  export { commonParams } from "@aws-sdk/client-eventbridge/dist-types/endpoint/EndpointParameters";
}

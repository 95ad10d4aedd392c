import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// Decodes a JSON body read with a bound: past `limit` bytes reading stops and the request fails
    /// with 413 (`NIOTooManyBytesError`, mapped by `ErrorMiddleware`) before the rest is held. Each
    /// route passes its own bound from `ServerLimits`.
    func decode<Value: Decodable>(as type: Value.Type, limit: Int, context: TwinRequestContext) async throws -> Value {
        let body = try await self.body.collect(upTo: limit)
        return try context.requestDecoder.decode(Value.self, from: Data(buffer: body, byteTransferStrategy: .noCopy))
    }
}

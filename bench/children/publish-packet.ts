/** An MQTT 3.1.1 PUBLISH packet: fixed header, remaining length, topic, packet id (QoS 1), payload. */
export function encodePublish(topic: string, payload: string, qos: 0 | 1, retain: boolean): Buffer {
  const topicBytes = Buffer.byteLength(topic);
  const payloadBytes = Buffer.byteLength(payload);
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + payloadBytes;
  let lengthBytes = 1;
  while (remaining >= 128 ** lengthBytes) lengthBytes += 1;
  const packet = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  let at = 0;
  packet[at++] = 0x30 | (qos << 1) | (retain ? 1 : 0);
  for (let left = remaining; ;) {
    const digit = left % 128;
    left = Math.floor(left / 128);
    packet[at++] = left > 0 ? digit | 0x80 : digit;
    if (left === 0) break;
  }
  at = packet.writeUInt16BE(topicBytes, at);
  at += packet.write(topic, at);
  if (qos > 0) at = packet.writeUInt16BE(1, at);
  packet.write(payload, at);
  return packet;
}

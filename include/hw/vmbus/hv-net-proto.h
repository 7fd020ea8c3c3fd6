/*
 * qemu-vmbus: the synthetic NIC's protocols on the wire (NVSP and RNDIS)
 *
 * NVSP is the VMBus-level protocol: version negotiation, the receive and
 * send buffers the guest shares, subchannels, and the packets that carry
 * RNDIS messages. RNDIS is the NIC-level protocol inside them: control
 * (INITIALIZE, QUERY, SET, ...), status indications and data packets with
 * their per-packet information. Little-endian.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_HV_NET_PROTO_H
#define HW_VMBUS_HV_NET_PROTO_H

/* The synthetic NIC's interface (what netvsc matches). */
#define HV_NET_CLASSID "f8615163-df3e-46c5-913f-f2d2f965ed0e"

/* NVSP versions */
#define NVSP_VERSION_1      0x00000002
#define NVSP_VERSION_2      0x00030002
#define NVSP_VERSION_4      0x00040000
#define NVSP_VERSION_5      0x00050000
#define NVSP_VERSION_6      0x00060000
#define NVSP_VERSION_61     0x00060001

enum nvsp_msg_type {
    NVSP_MSG_INIT = 1,
    NVSP_MSG_INIT_COMPLETE = 2,
    NVSP_MSG1_SEND_NDIS_VERSION = 100,
    NVSP_MSG1_SEND_RECV_BUF = 101,
    NVSP_MSG1_SEND_RECV_BUF_COMPLETE = 102,
    NVSP_MSG1_REVOKE_RECV_BUF = 103,
    NVSP_MSG1_SEND_SEND_BUF = 104,
    NVSP_MSG1_SEND_SEND_BUF_COMPLETE = 105,
    NVSP_MSG1_REVOKE_SEND_BUF = 106,
    NVSP_MSG1_SEND_RNDIS_PKT = 107,
    NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE = 108,
    NVSP_MSG2_SEND_CHIMNEY_DELEGATED_BUF = 109,
    NVSP_MSG2_SEND_NDIS_CONFIG = 125,
    NVSP_MSG4_SEND_VF_ASSOCIATION = 128,
    NVSP_MSG4_SWITCH_DATA_PATH = 129,
    NVSP_MSG5_SUBCHANNEL = 133,
    NVSP_MSG5_SEND_INDIRECTION_TABLE = 134,
};

enum nvsp_status {
    NVSP_STAT_NONE = 0,
    NVSP_STAT_SUCCESS = 1,
    NVSP_STAT_FAIL = 2,
    NVSP_STAT_PROTOCOL_TOO_NEW = 3,
    NVSP_STAT_PROTOCOL_TOO_OLD = 4,
    NVSP_STAT_INVALID_RNDIS_PKT = 5,
    NVSP_STAT_BUSY = 6,
    NVSP_STAT_PROTOCOL_UNSUPPORTED = 7,
};

/* The ids the guest gives its buffers in transfer-page packets. */
#define NVSP_RECV_BUF_ID        0xcafe
#define NVSP_SEND_BUF_ID        0
/* SEND_RNDIS_PKT without a send-buffer section */
#define NVSP_NO_SECTION         0xffffffff
/* SEND_RNDIS_PKT channel types */
#define NVSP_CHANNEL_DATA       0
#define NVSP_CHANNEL_CONTROL    1
/* SUBCHANNEL operations */
#define NVSP_SUBCHANNEL_ALLOCATE    1

/* Every NVSP message is this long, whatever its type uses. */
#define NVSP_MSG_SIZE           40

struct nvsp_init {
    uint32_t min_protocol_ver;
    uint32_t max_protocol_ver;
} QEMU_PACKED;

struct nvsp_init_complete {
    uint32_t negotiated_protocol_ver;
    uint32_t max_mdl_chain_len;
    uint32_t status;
} QEMU_PACKED;

struct nvsp_buf {                   /* SEND_RECV_BUF, SEND_SEND_BUF */
    uint32_t gpadl_handle;
    uint16_t id;
} QEMU_PACKED;

struct nvsp_recv_buf_section {
    uint32_t offset;
    uint32_t sub_alloc_size;
    uint32_t num_sub_allocs;
    uint32_t end_offset;
} QEMU_PACKED;

struct nvsp_recv_buf_complete {
    uint32_t status;
    uint32_t num_sections;
    struct nvsp_recv_buf_section sections[1];
} QEMU_PACKED;

struct nvsp_send_buf_complete {
    uint32_t status;
    uint32_t section_size;
} QEMU_PACKED;

struct nvsp_rndis_pkt {
    uint32_t channel_type;
    uint32_t send_buf_section_index;
    uint32_t send_buf_section_size;
} QEMU_PACKED;

struct nvsp_subchannel {            /* request and completion */
    uint32_t op_or_status;
    uint32_t num_subchannels;
} QEMU_PACKED;

struct nvsp_message {
    uint32_t msg_type;              /* enum nvsp_msg_type */
    union {
        struct nvsp_init init;
        struct nvsp_init_complete init_complete;
        struct nvsp_buf buf;
        struct nvsp_recv_buf_complete recv_buf_complete;
        struct nvsp_send_buf_complete send_buf_complete;
        struct nvsp_rndis_pkt rndis_pkt;
        uint32_t status;            /* SEND_RNDIS_PKT_COMPLETE */
        struct nvsp_subchannel subchannel;
        uint32_t ndis_version[2];   /* major, minor */
        uint32_t mtu;               /* SEND_NDIS_CONFIG, then more */
        uint32_t active_datapath;   /* SWITCH_DATA_PATH */
        uint8_t raw[NVSP_MSG_SIZE - 4];
    };
} QEMU_PACKED;

QEMU_BUILD_BUG_ON(sizeof(struct nvsp_message) != NVSP_MSG_SIZE);
QEMU_BUILD_BUG_ON(sizeof(struct nvsp_recv_buf_complete) != 24);

/* RNDIS message types */
#define RNDIS_MSG_PACKET        0x00000001
#define RNDIS_MSG_INIT          0x00000002
#define RNDIS_MSG_HALT          0x00000003
#define RNDIS_MSG_QUERY         0x00000004
#define RNDIS_MSG_SET           0x00000005
#define RNDIS_MSG_RESET         0x00000006
#define RNDIS_MSG_INDICATE      0x00000007
#define RNDIS_MSG_KEEPALIVE     0x00000008
#define RNDIS_MSG_COMPLETION    0x80000000

/* RNDIS (NDIS) status values */
#define RNDIS_STATUS_SUCCESS            0x00000000
#define RNDIS_STATUS_FAILURE            0xc0000001
#define RNDIS_STATUS_INVALID_DATA       0xc0010015
#define RNDIS_STATUS_NOT_SUPPORTED      0xc00000bb
#define RNDIS_STATUS_INVALID_LENGTH     0xc0010014
#define RNDIS_STATUS_MEDIA_CONNECT      0x4001000b
#define RNDIS_STATUS_MEDIA_DISCONNECT   0x4001000c
#define RNDIS_STATUS_LINK_SPEED_CHANGE  0x40010013
#define RNDIS_STATUS_NETWORK_CHANGE     0x40010018

/* Every RNDIS message starts with this. */
struct rndis_msg_hdr {
    uint32_t msg_type;
    uint32_t msg_len;               /* the whole message, header included */
} QEMU_PACKED;

struct rndis_packet {               /* RNDIS_MSG_PACKET, after the header */
    uint32_t data_offset;           /* offsets from the start of this */
    uint32_t data_len;
    uint32_t oob_data_offset;
    uint32_t oob_data_len;
    uint32_t num_oob_data_elements;
    uint32_t per_pkt_info_offset;
    uint32_t per_pkt_info_len;
    uint32_t vc_handle;
    uint32_t reserved;
} QEMU_PACKED;

struct rndis_init_request {
    uint32_t req_id;
    uint32_t major_ver;
    uint32_t minor_ver;
    uint32_t max_xfer_size;
} QEMU_PACKED;

struct rndis_init_complete {
    uint32_t req_id;
    uint32_t status;
    uint32_t major_ver;
    uint32_t minor_ver;
    uint32_t dev_flags;
    uint32_t medium;
    uint32_t max_pkt_per_msg;
    uint32_t max_xfer_size;
    uint32_t pkt_alignment_factor;
    uint32_t af_list_offset;
    uint32_t af_list_size;
} QEMU_PACKED;

struct rndis_query_request {        /* QUERY and SET */
    uint32_t req_id;
    uint32_t oid;
    uint32_t info_buflen;
    uint32_t info_buf_offset;       /* from req_id */
    uint32_t dev_vc_handle;
} QEMU_PACKED;

struct rndis_query_complete {
    uint32_t req_id;
    uint32_t status;
    uint32_t info_buflen;
    uint32_t info_buf_offset;       /* from req_id */
} QEMU_PACKED;

struct rndis_set_complete {         /* also KEEPALIVE's completion */
    uint32_t req_id;
    uint32_t status;
} QEMU_PACKED;

struct rndis_reset_complete {
    uint32_t status;
    uint32_t addressing_reset;
} QEMU_PACKED;

struct rndis_indicate_status {
    uint32_t status;
    uint32_t status_buflen;
    uint32_t status_buf_offset;     /* from status */
} QEMU_PACKED;

QEMU_BUILD_BUG_ON(sizeof(struct rndis_packet) != 36);
QEMU_BUILD_BUG_ON(sizeof(struct rndis_init_complete) != 44);

/* Per-packet information: a record before the frame in a data packet. */
struct rndis_ppi {
    uint32_t size;                  /* record, header included */
    uint32_t type;                  /* bit 31: internal */
    uint32_t ppi_offset;            /* of the data, from the record */
} QEMU_PACKED;

enum rndis_ppi_type {
    RNDIS_PPI_TCPIP_CHKSUM = 0,
    RNDIS_PPI_IPSEC = 1,
    RNDIS_PPI_LSO = 2,
    RNDIS_PPI_VLAN = 6,
    RNDIS_PPI_HASH_VALUE = 8,
};

/* TCPIP_CHKSUM, transmit: what the guest wants computed. */
#define RNDIS_TXCSUM_IPV4           (1u << 0)
#define RNDIS_TXCSUM_IPV6           (1u << 1)
#define RNDIS_TXCSUM_TCP            (1u << 2)
#define RNDIS_TXCSUM_UDP            (1u << 3)
#define RNDIS_TXCSUM_IP_HEADER      (1u << 4)
/* TCPIP_CHKSUM, receive: what the host verified. */
#define RNDIS_RXCSUM_TCP_FAILED     (1u << 0)
#define RNDIS_RXCSUM_UDP_FAILED     (1u << 1)
#define RNDIS_RXCSUM_IP_FAILED      (1u << 2)
#define RNDIS_RXCSUM_TCP_OK         (1u << 3)
#define RNDIS_RXCSUM_UDP_OK         (1u << 4)
#define RNDIS_RXCSUM_IP_OK          (1u << 5)

/* LSO v2, transmit: MSS 19:0, TCP header offset 29:20, type 30, IPv6 31 */
#define RNDIS_LSO_MSS(v)            ((v) & 0xfffff)
#define RNDIS_LSO_TCP_OFFSET(v)     (((v) >> 20) & 0x3ff)
#define RNDIS_LSO_V2                (1u << 30)
#define RNDIS_LSO_IPV6              (1u << 31)

/* OIDs */
#define OID_GEN_SUPPORTED_LIST              0x00010101
#define OID_GEN_HARDWARE_STATUS             0x00010102
#define OID_GEN_MEDIA_SUPPORTED             0x00010103
#define OID_GEN_MEDIA_IN_USE                0x00010104
#define OID_GEN_MAXIMUM_LOOKAHEAD           0x00010105
#define OID_GEN_MAXIMUM_FRAME_SIZE          0x00010106
#define OID_GEN_LINK_SPEED                  0x00010107
#define OID_GEN_TRANSMIT_BUFFER_SPACE       0x00010108
#define OID_GEN_RECEIVE_BUFFER_SPACE        0x00010109
#define OID_GEN_TRANSMIT_BLOCK_SIZE         0x0001010a
#define OID_GEN_RECEIVE_BLOCK_SIZE          0x0001010b
#define OID_GEN_VENDOR_ID                   0x0001010c
#define OID_GEN_VENDOR_DESCRIPTION          0x0001010d
#define OID_GEN_CURRENT_PACKET_FILTER       0x0001010e
#define OID_GEN_CURRENT_LOOKAHEAD           0x0001010f
#define OID_GEN_DRIVER_VERSION              0x00010110
#define OID_GEN_MAXIMUM_TOTAL_SIZE          0x00010111
#define OID_GEN_MAC_OPTIONS                 0x00010113
#define OID_GEN_MEDIA_CONNECT_STATUS        0x00010114
#define OID_GEN_MAXIMUM_SEND_PACKETS        0x00010115
#define OID_GEN_VENDOR_DRIVER_VERSION       0x00010116
#define OID_GEN_RECEIVE_SCALE_CAPABILITIES  0x00010203
#define OID_GEN_RECEIVE_SCALE_PARAMETERS    0x00010204
#define OID_GEN_FRIENDLY_NAME               0x00020216
#define OID_GEN_RNDIS_CONFIG_PARAMETER      0x0001021b
#define OID_GEN_XMIT_OK                     0x00020101
#define OID_GEN_RCV_OK                      0x00020102
#define OID_GEN_XMIT_ERROR                  0x00020103
#define OID_GEN_RCV_ERROR                   0x00020104
#define OID_GEN_RCV_NO_BUFFER               0x00020105
#define OID_802_3_PERMANENT_ADDRESS         0x01010101
#define OID_802_3_CURRENT_ADDRESS           0x01010102
#define OID_802_3_MULTICAST_LIST            0x01010103
#define OID_802_3_MAXIMUM_LIST_SIZE         0x01010104
#define OID_802_3_MAC_OPTIONS               0x01010105
#define OID_802_3_RCV_ERROR_ALIGNMENT       0x01020101
#define OID_802_3_XMIT_ONE_COLLISION        0x01020102
#define OID_802_3_XMIT_MORE_COLLISIONS      0x01020103
#define OID_TCP_OFFLOAD_PARAMETERS          0xfc01020c
#define OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES 0xfc01020d
#define OID_TCP_OFFLOAD_CURRENT_CONFIG      0xfc01020b

/* NDIS object headers */
#define NDIS_OBJECT_TYPE_DEFAULT            0x80
#define NDIS_OBJECT_TYPE_RSS_CAPABILITIES   0x88
#define NDIS_OBJECT_TYPE_RSS_PARAMETERS     0x89
#define NDIS_OBJECT_TYPE_OFFLOAD            0xa7

struct ndis_obj_header {
    uint8_t type;
    uint8_t rev;
    uint16_t size;
} QEMU_PACKED;

/* OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES' answer (revision 3). */
struct ndis_offload {
    struct ndis_obj_header header;
    struct {                        /* checksum */
        uint32_t ip4_txenc;
        uint32_t ip4_txcsum;
        uint32_t ip4_rxenc;
        uint32_t ip4_rxcsum;
        uint32_t ip6_txenc;
        uint32_t ip6_txcsum;
        uint32_t ip6_rxenc;
        uint32_t ip6_rxcsum;
    } csum;
    struct {                        /* LSO v1 */
        uint32_t encap;
        uint32_t maxsize;
        uint32_t minsegs;
        uint32_t opts;
    } lsov1;
    struct {                        /* IPsec v1 */
        uint32_t encap;
        uint32_t ah_esp;
        uint32_t xport_tun;
        uint32_t ip4_opts;
        uint32_t flags;
        uint32_t ip4_ah;
        uint32_t ip4_esp;
    } ipsecv1;
    struct {                        /* LSO v2 */
        uint32_t ip4_encap;
        uint32_t ip4_maxsz;
        uint32_t ip4_minsg;
        uint32_t ip6_encap;
        uint32_t ip6_maxsz;
        uint32_t ip6_minsg;
        uint32_t ip6_opts;
    } lsov2;
    uint32_t flags;
    uint8_t ipsecv2[32];            /* revision 2 on */
    uint8_t rsc_ip4;                /* revision 3 */
    uint8_t rsc_ip6;
    uint8_t reserved[2];
    uint32_t encap_flags;
    uint32_t encap_maxhdr;
} QEMU_PACKED;

QEMU_BUILD_BUG_ON(sizeof(struct ndis_offload) != 156);
QEMU_BUILD_BUG_ON(offsetof(struct ndis_offload, ipsecv2) != 112);

#define NDIS_OFFLOAD_SIZE_REV1      112
#define NDIS_OFFLOAD_SIZE_REV2      144
#define NDIS_OFFLOAD_SIZE_REV3      156
#define NDIS_ENCAP_8023             0x00000002
/* csum.*_txcsum / _rxcsum bits */
#define NDIS_CSUM_IP4_OPTS          0x00000001   /* also IPv6 ext headers */
#define NDIS_CSUM_TCP_OPTS          0x00000004
#define NDIS_CSUM_TCP               0x00000010
#define NDIS_CSUM_UDP               0x00000040
#define NDIS_CSUM_IP4_HDR           0x00000100
/* lsov2.ip6_opts */
#define NDIS_LSOV2_IP6_EXTHDRS      0x00000001
#define NDIS_LSOV2_IP6_TCP_OPTS     0x00000004

/* OID_TCP_OFFLOAD_PARAMETERS: what the guest switches on. */
struct ndis_offload_params {
    struct ndis_obj_header header;
    uint8_t ip_v4_csum;
    uint8_t tcp_ip_v4_csum;
    uint8_t udp_ip_v4_csum;
    uint8_t tcp_ip_v6_csum;
    uint8_t udp_ip_v6_csum;
    uint8_t lso_v1;
    uint8_t ip_sec_v1;
    uint8_t lso_v2_ipv4;
    uint8_t lso_v2_ipv6;
    uint8_t tcp_connection_ip_v4;
    uint8_t tcp_connection_ip_v6;
    uint8_t reserved;
    uint32_t flags;
    uint8_t ip_sec_v2;              /* revision 2 on */
    uint8_t ip_sec_v2_ip_v4;
} QEMU_PACKED;

/* ndis_offload_params values */
#define NDIS_OFFLOAD_PARAMS_NO_CHANGE       0
#define NDIS_OFFLOAD_PARAMS_DISABLED        1
#define NDIS_OFFLOAD_PARAMS_TX_ENABLED      2
#define NDIS_OFFLOAD_PARAMS_RX_ENABLED      3
#define NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED   4
#define NDIS_OFFLOAD_PARAMS_LSO_DISABLED    1
#define NDIS_OFFLOAD_PARAMS_LSO_ENABLED     2

/* OID_GEN_RECEIVE_SCALE_CAPABILITIES' answer */
struct ndis_recv_scale_cap {
    struct ndis_obj_header header;
    uint32_t capabilities;
    uint32_t num_int_msg;
    uint32_t num_recv_que;
    uint16_t num_indirect_tabent;
} QEMU_PACKED;

QEMU_BUILD_BUG_ON(sizeof(struct ndis_recv_scale_cap) != 18);

#define NDIS_RSS_CAPS_MESSAGE_SIGNALED_INTERRUPTS   0x01000000
#define NDIS_RSS_CAPS_CLASSIFICATION_AT_ISR         0x02000000
#define NDIS_RSS_CAPS_CLASSIFICATION_AT_DPC         0x04000000
#define NDIS_RSS_CAPS_USING_MSI_X                   0x08000000
#define NDIS_RSS_CAPS_SUPPORTS_MSI_X                0x08000000
#define NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4            0x00000100
#define NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6            0x00000200
#define NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6_EX         0x00000400

/* OID_GEN_RECEIVE_SCALE_PARAMETERS */
struct ndis_recv_scale_param {
    struct ndis_obj_header header;
    uint16_t flag;
    uint16_t base_cpu_number;
    uint32_t hashinfo;
    uint16_t indirection_table_size;    /* bytes */
    uint16_t pad1;
    uint32_t indirection_table_offset;  /* from this struct */
    uint16_t hashkey_size;
    uint16_t pad2;
    uint32_t hashkey_offset;
    uint32_t processor_masks_offset;
    uint32_t num_processor_masks;
    uint32_t processor_masks_entry_size;
} QEMU_PACKED;

QEMU_BUILD_BUG_ON(sizeof(struct ndis_recv_scale_param) != 40);

#define NDIS_RSS_PARAM_FLAG_DISABLE_RSS     0x0010
#define NDIS_HASH_FUNC_TOEPLITZ             0x00000001
#define NDIS_HASH_IPV4                      0x00000100
#define NDIS_HASH_TCP_IPV4                  0x00000200
#define NDIS_HASH_IPV6                      0x00000400
#define NDIS_HASH_IPV6_EX                   0x00000800
#define NDIS_HASH_TCP_IPV6                  0x00001000
#define NDIS_HASH_TCP_IPV6_EX               0x00002000

#define NDIS_RSS_KEY_SIZE                   40
#define NDIS_RSS_INDIRECTION_MAX            128

/* The guest's packet filter bits */
#define NDIS_PACKET_TYPE_DIRECTED           0x00000001
#define NDIS_PACKET_TYPE_MULTICAST          0x00000002
#define NDIS_PACKET_TYPE_ALL_MULTICAST      0x00000004
#define NDIS_PACKET_TYPE_BROADCAST          0x00000008
#define NDIS_PACKET_TYPE_PROMISCUOUS        0x00000020

#endif

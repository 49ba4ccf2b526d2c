"""Packet capture tables: pcap_files, connections, dns_queries, http_requests, extracted_files.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:36:32.837209
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('connections',
    sa.Column('source_object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False, comment='the capture (source_objects.id = pcap_files.source_object_id)'),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uid', sa.Text(), nullable=False),
    sa.Column('orig_h', sa.Text(), nullable=True),
    sa.Column('orig_p', sa.Integer(), nullable=True),
    sa.Column('resp_h', sa.Text(), nullable=True),
    sa.Column('resp_p', sa.Integer(), nullable=True),
    sa.Column('proto', sa.Text(), nullable=False, comment='tcp | udp | icmp'),
    sa.Column('service', sa.Text(), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('orig_bytes', sa.BigInteger(), nullable=True),
    sa.Column('resp_bytes', sa.BigInteger(), nullable=True),
    sa.Column('orig_pkts', sa.BigInteger(), nullable=True),
    sa.Column('resp_pkts', sa.BigInteger(), nullable=True),
    sa.Column('conn_state', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['source_object_id'], ['source_objects.id'], name=op.f('fk_connections_source_object_id_source_objects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_object_id', 'uid', name=op.f('pk_connections'))
    )
    op.create_index('ix_connections_orig_h', 'connections', ['orig_h'], unique=False)
    op.create_index('ix_connections_ts', 'connections', ['ts'], unique=False)
    op.create_table('dns_queries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source_object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False, comment='the capture (source_objects.id = pcap_files.source_object_id)'),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uid', sa.Text(), nullable=False),
    sa.Column('orig_h', sa.Text(), nullable=True),
    sa.Column('orig_p', sa.Integer(), nullable=True),
    sa.Column('resp_h', sa.Text(), nullable=True),
    sa.Column('resp_p', sa.Integer(), nullable=True),
    sa.Column('proto', sa.Text(), nullable=True),
    sa.Column('trans_id', sa.Integer(), nullable=True),
    sa.Column('query', sa.Text(), nullable=True),
    sa.Column('qtype_name', sa.Text(), nullable=True),
    sa.Column('rcode_name', sa.Text(), nullable=True),
    sa.Column('answers', sa.ARRAY(sa.Text()).with_variant(sa.JSON(), 'sqlite'), nullable=True, comment='in answer order'),
    sa.Column('ttls', sa.ARRAY(sa.Float()).with_variant(sa.JSON(), 'sqlite'), nullable=True, comment='seconds, in answer order'),
    sa.ForeignKeyConstraint(['source_object_id'], ['source_objects.id'], name=op.f('fk_dns_queries_source_object_id_source_objects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dns_queries'))
    )
    op.create_index('ix_dns_queries_query', 'dns_queries', ['query'], unique=False)
    op.create_index('ix_dns_queries_source_object_id', 'dns_queries', ['source_object_id'], unique=False)
    op.create_table('extracted_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source_object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False, comment='the capture (source_objects.id = pcap_files.source_object_id)'),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=True),
    sa.Column('uid', sa.Text(), nullable=False, comment='the connection that carried it'),
    sa.Column('host', sa.Text(), nullable=True),
    sa.Column('uri', sa.Text(), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mime_type', sa.Text(), nullable=True),
    sa.Column('file_type', sa.Text(), nullable=True, comment="libmagic's description"),
    sa.Column('md5', sa.Text(), nullable=False),
    sa.Column('sha1', sa.Text(), nullable=False),
    sa.Column('sha256', sa.Text(), nullable=False),
    sa.Column('entropy', sa.Float(), nullable=True, comment='Shannon entropy, bits per byte'),
    sa.ForeignKeyConstraint(['source_object_id'], ['source_objects.id'], name=op.f('fk_extracted_files_source_object_id_source_objects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extracted_files'))
    )
    op.create_index('ix_extracted_files_sha256', 'extracted_files', ['sha256'], unique=False)
    op.create_index('ix_extracted_files_source_object_id', 'extracted_files', ['source_object_id'], unique=False)
    op.create_table('http_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source_object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False, comment='the capture (source_objects.id = pcap_files.source_object_id)'),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uid', sa.Text(), nullable=False),
    sa.Column('orig_h', sa.Text(), nullable=True),
    sa.Column('orig_p', sa.Integer(), nullable=True),
    sa.Column('resp_h', sa.Text(), nullable=True),
    sa.Column('resp_p', sa.Integer(), nullable=True),
    sa.Column('method', sa.Text(), nullable=True),
    sa.Column('host', sa.Text(), nullable=True),
    sa.Column('uri', sa.Text(), nullable=True),
    sa.Column('referrer', sa.Text(), nullable=True),
    sa.Column('user_agent', sa.Text(), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('resp_mime_types', sa.ARRAY(sa.Text()).with_variant(sa.JSON(), 'sqlite'), nullable=True),
    sa.Column('request_body_len', sa.BigInteger(), nullable=True),
    sa.Column('response_body_len', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['source_object_id'], ['source_objects.id'], name=op.f('fk_http_requests_source_object_id_source_objects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_http_requests'))
    )
    op.create_index('ix_http_requests_source_object_id', 'http_requests', ['source_object_id'], unique=False)
    op.create_index('ix_http_requests_ts', 'http_requests', ['ts'], unique=False)
    op.create_table('pcap_files',
    sa.Column('source_object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.Text(), nullable=False, comment='a capture loads once, whatever its name'),
    sa.Column('md5', sa.Text(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('packets', sa.BigInteger(), nullable=True),
    sa.Column('first_ts', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_ts', sa.DateTime(timezone=True), nullable=True),
    sa.Column('link_type', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['source_object_id'], ['source_objects.id'], name=op.f('fk_pcap_files_source_object_id_source_objects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_object_id', name=op.f('pk_pcap_files')),
    sa.UniqueConstraint('sha256', name=op.f('uq_pcap_files_sha256'))
    )
    


def downgrade() -> None:
    
    op.drop_table('pcap_files')
    op.drop_index('ix_http_requests_ts', table_name='http_requests')
    op.drop_index('ix_http_requests_source_object_id', table_name='http_requests')
    op.drop_table('http_requests')
    op.drop_index('ix_extracted_files_source_object_id', table_name='extracted_files')
    op.drop_index('ix_extracted_files_sha256', table_name='extracted_files')
    op.drop_table('extracted_files')
    op.drop_index('ix_dns_queries_source_object_id', table_name='dns_queries')
    op.drop_index('ix_dns_queries_query', table_name='dns_queries')
    op.drop_table('dns_queries')
    op.drop_index('ix_connections_ts', table_name='connections')
    op.drop_index('ix_connections_orig_h', table_name='connections')
    op.drop_table('connections')
    

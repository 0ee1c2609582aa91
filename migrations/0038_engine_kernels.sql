-- 0038_engine_kernels.sql: a pv server's own kernel and initrd for the
-- engine's reconciliation (issue 13, engines/README.md "Own kernels").
--   sw_engine_kernels(node)
--                   for each server on node whose template has its own
--                   kernel and initrd images (ready): their sha256 and
--                   sizes, as a node job carries them. The restore job
--                   reconciliation builds for a missing domain
--                   (engines/nodedb.c) boots the same kernel as every job
--                   the provisioner sends; before, it had none and named a
--                   host path nothing fills. SECURITY DEFINER: the
--                   engine's role reads no images; it may ask about its own
--                   node only (sw_engine_node_guard).

CREATE FUNCTION sw_engine_kernels(node uuid)
RETURNS TABLE (server_id uuid, kernel_sha256 text, kernel_bytes bigint, initrd_sha256 text,
               initrd_bytes bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM public.sw_engine_node_guard(node, 'kernels');
    RETURN QUERY
        SELECT s.id, k.sha256, k.size_bytes, r.sha256, r.size_bytes
          FROM public.servers s JOIN public.templates t ON t.id = s.template_id
          JOIN public.images k ON k.id = t.kernel_image_id AND k.state = 'ready'
          JOIN public.images r ON r.id = t.initrd_image_id AND r.state = 'ready'
         WHERE s.node_id = node;
END
$$;
REVOKE ALL ON FUNCTION sw_engine_kernels(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sw_engine_kernels(uuid) TO slipway_engine;

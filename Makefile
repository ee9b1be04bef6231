# The seed's entry points, kept for people's habits and existing CI. Each calls image-mirror.
IMAGE_MIRROR ?= image-mirror

.PHONY: add-tag-to-existing-image.sh add-full-image-wrapper.sh check-new-images-exist.sh \
        sort-images-list.sh image-mirror.sh test demo bench

add-tag-to-existing-image.sh:
	$(IMAGE_MIRROR) add-tag

add-full-image-wrapper.sh:
	$(IMAGE_MIRROR) add-full-image

check-new-images-exist.sh:
	$(IMAGE_MIRROR) check-new-images

sort-images-list.sh:
	$(IMAGE_MIRROR) sort

image-mirror.sh:
	$(IMAGE_MIRROR) sync

test:
	scripts/test.sh

demo:
	scripts/demo.sh

bench:
	python -m bench $(BENCH_ARGS)
